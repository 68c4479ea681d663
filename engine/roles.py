"""The roles of cadreflow (domain.md, "Roles"). Lanes in BPMN files are named after these ids."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    id: str
    label_en: str
    label_zh: str
    unit_scoped: bool  # a grant of this role names the one unit it acts for


ROLES: dict[str, Role] = {
    r.id: r
    for r in (
        Role("org_department", "Organization department", "组织部", False),
        Role("unit_committee", "Unit party committee", "单位党委（党组）", True),
        Role("exam_office", "Exam office", "考试办", False),
        Role("inspection_team", "Inspection team", "考察组", False),
        Role("discipline_inspection", "Discipline inspection", "纪检监察", False),
        Role("family_planning", "Family planning", "计划生育部门", False),
        Role("party_committee", "Municipal party committee", "市委常委会", False),
        Role("party_school", "Party school", "市委党校", False),
        Role("mentor", "Mentor", "结对导师", True),
        Role("reserve_cadre", "Reserve cadre", "后备干部", False),
        Role("public", "Public", "群众", False),
        Role("auditor", "Auditor", "审计员", False),
        Role("designer", "Process designer", "流程设计员", False),
        Role("admin", "Administrator", "系统管理员", False),
    )
}

# Roles that may own a lane (act on user tasks); auditor, designer, admin and public never do.
LANE_ROLES: frozenset[str] = frozenset(ROLES) - {"auditor", "designer", "admin", "public"}
