"""SQLAlchemy 2 typed tables. The only module (with ``engine.store``) that knows the schema.

Times are stored as timezone-aware UTC (PostgreSQL ``timestamptz``); SQLite hands them back naive,
so :class:`UTCDateTime` re-attaches UTC on the way out. JSON documents are stored as text we wrote
ourselves (canonical JSON), never as JSONB: PostgreSQL would reorder keys and normalise numbers, and
the event hashes are over the exact text.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class Unit(Base):
    __tablename__ = "units"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RoleGrant(Base):
    __tablename__ = "role_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    # Empty string (not NULL) for grants without a unit, so the unique constraint holds on every backend.
    unit_id: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (UniqueConstraint("user_id", "role", "unit_id", name="uq_role_grant"),)


class DefinitionVersion(Base):
    """A deployed process definition: its files, stored once per content hash."""

    __tablename__ = "definition_versions"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    files_json: Mapped[str] = mapped_column(Text)  # canonical JSON {path: text}
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_definition_version"),)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(128), index=True)
    definition_hash: Mapped[str] = mapped_column(ForeignKey("definition_versions.hash"))
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)  # running | finished
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The chain head, kept outside the event table so that deleting the newest event is noticed.
    last_seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    data_json: Mapped[str] = mapped_column(Text, default="{}")  # the case data as of last_seq
    # What messages for "this case" are addressed by (e.g. a reserve cadre's candidate id).
    correlation_key: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)


class Event(Base):
    """The system of record: append-only; the primary key makes a duplicate a conflict."""

    __tablename__ = "events"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(64))
    schema: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    payload_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Snapshot(Base):
    """The latest serialized SpiffWorkflow state of a case (a cache of the log; references its spec)."""

    __tablename__ = "snapshots"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    definition_hash: Mapped[str] = mapped_column(String(64))
    state_json: Mapped[str] = mapped_column(Text)
    state_hash: Mapped[str] = mapped_column(String(64))


class HumanTask(Base):
    """The inbox projection: one row per human task instance, updated in the step's transaction."""

    __tablename__ = "human_tasks"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SpiffWorkflow task id
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str] = mapped_column(String(64), default="")  # "" = the whole case, no unit scope
    form_key: Mapped[str] = mapped_column(String(200), default="")
    input_json: Mapped[str] = mapped_column(Text, default="{}")  # what the task is about (unit, candidate)
    status: Mapped[str] = mapped_column(String(16))  # ready | completed | cancelled
    assignee: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    __table_args__ = (
        Index("ix_human_tasks_inbox", "status", "role", "unit_id"),
        Index("ix_human_tasks_case_status", "case_id", "status"),
        # "Done" page: a user's completed tasks, newest first (migration 0002).
        Index("ix_human_tasks_done", "completed_by", "completed_at"),
    )


class TaskDraft(Base):
    """A person's unfinished form for a ready task: saved without validation, deleted on completion.

    Drafts are not inputs of the workflow, so they are not events; they are kept per person, so two
    people of the same role can each prepare their own before one of them completes the task.
    """

    __tablename__ = "task_drafts"
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    data_json: Mapped[str] = mapped_column(Text)  # canonical JSON of the form as last saved
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseActor(Base):
    """Who completed which task of a case: separation-of-duties checks read it by index."""

    __tablename__ = "case_actors"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class CaseSubject(Base):
    """People a case is about (e.g. the nominees of a batch): they may not act on it."""

    __tablename__ = "case_subjects"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class ScheduledTimer(Base):
    """Due work: one row per waiting timer occurrence, claimed by whoever fires it."""

    __tablename__ = "scheduled_timers"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<case>/<task id>": unique occurrence
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(64))
    element_id: Mapped[str] = mapped_column(String(128))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # waiting | fired | cancelled
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    __table_args__ = (Index("ix_scheduled_timers_due", "status", "due_at"),)


class PoolMember(Base):
    """The reserve-cadre pool (its own reserve_cadre cases come with the processes issue)."""

    __tablename__ = "pool_members"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    candidate_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    source_case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    admitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="active")
    __table_args__ = (UniqueConstraint("candidate_id", "source_case_id", name="uq_pool_member"),)


class MessageOutbox(Base):
    """A message a case threw, written in the step's transaction and delivered afterwards.

    Delivery starts a case of a process whose start event catches the message, or hands it to the
    running cases waiting for it whose ``correlation_key`` equals the payload's ``key``. Rows are
    claimed with ``FOR UPDATE SKIP LOCKED`` so several workers never deliver one twice.
    """

    __tablename__ = "message_outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    source_seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    payload_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | delivered | undeliverable
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    targets_json: Mapped[str] = mapped_column(Text, default="[]")  # the case ids it reached


class ScheduleRun(Base):
    """One occurrence of recurring application work (e.g. the biennial pool adjustment).

    The primary key is the occurrence (schedule name + due time): whichever worker inserts it first
    runs the work in the same transaction; another worker's insert conflicts and it moves on.
    """

    __tablename__ = "schedule_runs"
    schedule: Mapped[str] = mapped_column(String(100), primary_key=True)
    occurrence: Mapped[str] = mapped_column(String(64), primary_key=True)  # the due time, canonical
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime)
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # what it started, if anything


class DesignDraft(Base):
    """A designer's work on one process, kept apart from what is deployed (one draft per process).

    ``files_json`` maps bundle paths (``processes/<id>/<file>``, ``processes/<id>/tests/<file>``,
    ``forms/<key>``) to their text. Saving never refuses a draft for its problems: a designer must be
    able to keep half-done work; deploying is what requires it to validate and pass its tests.
    """

    __tablename__ = "design_drafts"
    process_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    files_json: Mapped[str] = mapped_column(Text)  # canonical JSON {path: text}
    base_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the version it started from
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    saved_by: Mapped[str] = mapped_column(String(128))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)
