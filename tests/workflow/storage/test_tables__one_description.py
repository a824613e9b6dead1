"""``workflow.storage.tables`` is the one description of the schema: the ORM classes are
declared over its very tables and add nothing of their own, a column the description
gains is mapped at once, and each class's annotations say what their columns hold."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    inspect,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import SQLModel

from workflow.storage import models
from workflow.storage.tables import METADATA

MODELS = [v for v in vars(models).values()
          if isinstance(v, type) and issubclass(v, SQLModel) and "__table__" in vars(v)]


def test_every_table_has_one_orm_class_declared_over_it() -> None:
    """Each table of the description is the ``__table__`` of exactly one ORM class, and the
    ORM keeps no table of its own (SQLModel's metadata stays empty)."""
    assert sorted(m.__table__.name for m in MODELS) == sorted(METADATA.tables)
    assert all(m.__table__ is METADATA.tables[m.__table__.name] for m in MODELS)
    assert SQLModel.metadata.tables == {}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_orm_maps_its_tables_own_columns(model: Any) -> None:
    """The class's mapper maps every column of the described table, each the very
    ``Column`` object of the description (names, types, nullability, keys, defaults and
    server defaults are the description's because they are its objects), and its indexes
    and constraints are the table's."""
    mapper = inspect(model)
    table = METADATA.tables[model.__table__.name]
    assert mapper.local_table is table
    assert list(mapper.columns.keys()) == list(table.c.keys())
    assert all(mapper.columns[name] is table.c[name] for name in table.c.keys())


def _python_type(sql_type: TypeEngine[Any]) -> tuple[type, ...]:
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, JSON):
        return (list, dict)
    return (sql_type.python_type,)


def _annotation(hint: Any) -> tuple[type, bool]:
    """The type an annotation names, and whether it allows None."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        assert len(kept) == 1, hint
        return _annotation(kept[0])[0], True
    return typing.get_origin(hint) or hint, False


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_annotation_says_what_its_column_holds(model: Any) -> None:
    """Every field of the class names a column of its table; its type is the column's,
    it allows None exactly where the database may leave it empty (a nullable column, or
    the key the database numbers), and its default is the column's."""
    hints = typing.get_type_hints(model)
    table = METADATA.tables[model.__table__.name]
    for name, field in model.model_fields.items():
        col = table.c[name]
        kind, optional = _annotation(hints[name])
        assert kind in _python_type(col.type), (name, kind, col.type)
        assert optional == (col.nullable or col is table.autoincrement_column), name
        default = col.default.arg if col.default is not None else None  # type: ignore[attr-defined]
        if default is None and not optional:
            assert field.is_required(), name
        else:
            assert field.get_default() == default, name


def test_a_column_the_table_gains_is_loaded_without_an_annotation(tmp_path: Path) -> None:
    """A column added to a described table (and to the database by its migration) is
    mapped at once: the ORM loads it and writes its default with no edit to the class.
    Setting it through the ORM takes its annotation: the class refuses a name it does not
    declare, so a misspelt attribute never writes a column."""
    meta = MetaData()
    table = Table("gadget", meta, Column("id", Integer, primary_key=True),
                  Column("name", String, nullable=False),
                  Column("colour", String, nullable=False, server_default="red"))

    class Gadget(SQLModel, table=True):
        __table__ = table
        id: int | None = models.column(table.c.id)
        name: str = models.column(table.c.name)

    engine = create_engine(f"sqlite:///{tmp_path / 'gadgets.db'}")
    meta.create_all(engine)
    with Session(engine) as s:
        s.add(Gadget(name="lamp"))
        s.commit()
        lamp: Any = s.scalars(select(Gadget)).one()
        assert (lamp.name, lamp.colour) == ("lamp", "red")
        with pytest.raises(ValueError, match="no field \"colour\""):
            lamp.colour = "blue"
    engine.dispose()
