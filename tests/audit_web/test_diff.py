from engine.audit.diff import Change, diff_data


def test_nested_changes_are_reported_by_path() -> None:
    old = {"quota": 4, "scores": [{"candidate": "a", "score": 80.0}, {"candidate": "b", "score": 70.0}]}
    new = {"quota": 4, "scores": [{"candidate": "a", "score": 80.0}, {"candidate": "b", "score": 75.5}]}
    assert diff_data(old, new) == [Change("scores[1].score", "changed", 70.0, 75.5)]


def test_added_removed_and_list_growth() -> None:
    old = {"a": 1, "gone": {"x": 1}, "list": [1]}
    new = {"a": 1, "list": [1, 2], "new": {"y": [3]}}
    assert diff_data(old, new) == [
        Change("gone", "removed", {"x": 1}, None),
        Change("list[1]", "added", None, 2),
        Change("new", "added", None, {"y": [3]}),
    ]


def test_kind_changes_and_json_types_count() -> None:
    assert diff_data({"v": 1}, {"v": True}) == [Change("v", "changed", 1, True)]
    assert diff_data({"v": 1}, {"v": 1.0}) == [Change("v", "changed", 1, 1.0)]
    assert diff_data({"v": [1]}, {"v": {"0": 1}}) == [Change("v", "changed", [1], {"0": 1})]
    assert diff_data({"v": None}, {"v": None}) == []


def test_keys_that_are_not_names_are_quoted() -> None:
    changes = diff_data({"m": {"a.b": 1}}, {"m": {"a.b": 2}})
    assert changes == [Change('m["a.b"]', "changed", 1, 2)]
