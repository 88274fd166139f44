"""``marlloc.__all__`` is the public surface: every name exists, and the stable entry points work."""

import marlloc


def test_all_names_exist():
    for name in marlloc.__all__:
        assert hasattr(marlloc, name), name


def test_stable_entry_points():
    env = marlloc.make("edge_market_v0", n_users=500)
    assert env.roles["user"].n_agents == 500
    par = marlloc.make_parallel("edge_market_v0", n_users=4)
    assert par.possible_agents[:2] == ["user_0", "user_1"] and "provider_0" in par.possible_agents
