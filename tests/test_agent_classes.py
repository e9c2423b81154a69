"""Agent classes chosen in a scenario, per kind and per node, with parameters of their own.

A class is named by a registered name or ``package.module:Class``; what it declares in
``params`` is checked, filled in, made the agent's attribute, and can be swept by cell.
"""

from __future__ import annotations

from typing import ClassVar

import pytest

from pullchain.agents.firms import Distributor, Retailer
from pullchain.agents.kinds import AGENTS, node_params
from pullchain.network.errors import ConfigError
from pullchain.network.params import Param
from pullchain.runs.scenarios import Scenario


class Counting(Retailer):
    """A retailer that counts its turns (and rounds its orders to `lot`)."""

    params: ClassVar[dict[str, Param]] = {
        "lot": Param(1.0, "orders are whole lots of this many units", unit="units", minimum=0,
                     above=True),
    }  # fmt: skip

    def decide(self, observation):
        q = super().decide(observation)
        return self.lot * round(q / self.lot)


class NotARetailer(Distributor):
    """A distributor (so it cannot play a retailer)."""


@pytest.fixture(autouse=True)
def registered():
    AGENTS.register("counting")(Counting)
    yield
    AGENTS.unregister("counting")


SERIAL = {"network": {"builder": "serial", "n_stages": 3}, "steps": 30, "warm_up": 5}


def retailer(model):
    return next(f for f in model.firms if f.kind == "retailer")


@pytest.mark.parametrize("spec", ["counting", "tests.test_agent_classes:Counting"])
def test_a_class_per_kind_by_name_or_module_path(spec):
    s = Scenario({**SERIAL, "kinds": {"retailer": {"class": spec, "lot": 5.0}}})
    model = s.model()
    shop = retailer(model)
    assert type(shop) is Counting and shop.lot == 5.0 and shop.config["lot"] == 5.0
    model.run_model()
    orders = model.recorder.firms.series("ordered")[:, model.firms.index(shop)]
    assert (orders % 5 == 0).all() and orders.max() > 0
    # Mesa's queries find it as a Retailer, and the model's kind tables count it.
    assert shop in model.agents.select(agent_type=Retailer)
    assert list(model.agents_by_type[Counting]) == [shop]


def test_a_class_per_node_with_its_default_parameter():
    s = Scenario({**SERIAL, "nodes": {"retailer": {"class": "counting"}}})
    shop = retailer(s.model())
    assert isinstance(shop, Counting) and shop.lot == 1.0  # the declared default


def test_a_class_parameter_is_checked_and_named():
    bad = {**SERIAL, "kinds": {"retailer": {"class": "counting", "lot": 0.0}}}
    with pytest.raises(ConfigError) as err:
        Scenario(bad)
    assert err.value.field == "node 1.lot" and "> 0" in err.value.expected


def test_a_class_parameter_without_the_class_is_an_unknown_field():
    with pytest.raises(ConfigError) as err:
        Scenario({**SERIAL, "kinds": {"retailer": {"lot": 5.0}}})
    assert err.value.field == "kinds.retailer.lot" and "known field" in err.value.expected
    with pytest.raises(ConfigError) as err:
        Scenario({**SERIAL, "nodes": {"retailer": {"lot": 5.0}}})
    assert err.value.field == 'nodes."retailer".lot'


def test_a_class_parameter_in_firms_reaches_only_the_nodes_that_take_it():
    s = Scenario({**SERIAL, "kinds": {"retailer": {"class": "counting"}}, "firms": {"lot": 3.0}})
    model = s.model()
    assert retailer(model).lot == 3.0
    assert all(not hasattr(f, "lot") for f in model.firms if f.kind != "retailer")


@pytest.mark.parametrize(
    ("table", "field", "words"),
    [
        ({"kinds": {"retailer": {"class": "nobody"}}}, "kinds.retailer.class", "AGENTS.register"),
        ({"kinds": {"retailer": {"class": "tests.test_agent_classes:NotARetailer"}}},
         "kinds.retailer.class", "subclass of Retailer"),
        ({"kinds": {"retailer": {"class": "no_such_module:X"}}}, "kinds.retailer.class",
         "No module named"),
        ({"kinds": {"retailer": {"class": "tests.test_agent_classes:Nope"}}},
         "kinds.retailer.class", "has no 'Nope'"),
        ({"firms": {"class": "counting"}}, "firms.class", "per kind"),
    ],
)  # fmt: skip
def test_a_bad_class_names_the_field(table, field, words):
    with pytest.raises(ConfigError) as err:
        Scenario({**SERIAL, **table})
    assert err.value.field == field and words in str(err.value)


def test_the_class_and_its_parameter_can_be_swept_by_cell():
    base = Scenario(SERIAL)
    cells = [
        {"kinds.retailer.class": "retailer"},
        {"kinds.retailer.class": "counting", "kinds.retailer.lot": 4.0},
        {"kinds.retailer.class": "counting", "kinds.retailer.lot": 7.0},
    ]
    shops = [retailer(base.with_overrides(cell).model()) for cell in cells]
    assert type(shops[0]) is Retailer
    assert [s.lot for s in shops[1:]] == [4.0, 7.0]
    assert type(retailer(base.model())) is Retailer  # nothing global changed


def test_node_params_of_the_builtin_kind_need_no_class():
    assert "lot" not in node_params("retailer")
    assert "lot" in node_params("retailer", "counting")
    assert node_params("retailer", "counting")["holding_cost"].default == 0.5


def test_the_model_keyword_still_sets_a_kind_s_class():
    from pullchain.network.builders import serial_chain
    from pullchain.runs.model import SupplyChainModel

    model = SupplyChainModel(serial_chain(3), agent_classes={"retailer": Counting})
    assert isinstance(retailer(model), Counting)
    with pytest.raises(ConfigError) as err:
        SupplyChainModel(serial_chain(3), agent_classes={"retailer": NotARetailer})
    assert err.value.field == "agent_classes.retailer"
