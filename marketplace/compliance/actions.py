"""The audit actions of this domain. Compliance: the models a buyer organisation declares, their
training runs and inputs, and the regulatory documents generated from them.

Every audit event names one of these (the audit writer refuses anything else), so the actions
are listed in one place, and compliance queries use the same names."""

from __future__ import annotations

from marketplace.kernel.audit import AuditAction


class ComplianceAction(AuditAction):
    MODEL_CREATE = "model.create"
    MODEL_UPDATE = "model.update"
    TRAINING_RUN_CREATE = "training_run.create"
    TRAINING_RUN_DELETE = "training_run.delete"
    TRAINING_INPUT_ADD = "training_input.add"
    TRAINING_INPUT_REMOVE = "training_input.remove"
    SUMMARY_GENERATE = "model.summary"
