"""Possible duplicates: rank the open and recently closed issues by likeness to a new one.

`DuplicateIndex` is the incremental index, `evaluation` measures it the way the duplicate-bug-report
literature does (Recall@k over known duplicate pairs) and picks its few knobs by cross-validation.
"""

from workers.agents.triage.duplicates.index import (
    COMMENT_THRESHOLD,
    DEFAULT_PRIOR,
    DEFAULT_RECENTLY_CLOSED,
    DuplicateCandidate,
    DuplicateIndex,
    IssueRecord,
    TimePrior,
    duplicate_to_comment,
)

__all__ = [
    "COMMENT_THRESHOLD",
    "DEFAULT_PRIOR",
    "DEFAULT_RECENTLY_CLOSED",
    "DuplicateCandidate",
    "DuplicateIndex",
    "IssueRecord",
    "TimePrior",
    "duplicate_to_comment",
]
