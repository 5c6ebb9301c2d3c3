"""Models and training runs of a buyer organisation: declare a model, its runs, and what each run
was fed. Data licensed here is attached by grant (and, from a verified download, by file), so
regulatory documents can point at evidence; data from elsewhere is declared, and says so."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.models import Dataset, DatasetVersion, VersionFile
from marketplace.commerce.models import Grant
from marketplace.commerce.services import grant_covers
from marketplace.compliance.actions import ComplianceAction
from marketplace.compliance.models import AIModel, InputKind, TrainingInput, TrainingRun
from marketplace.compliance.policy import POLICY
from marketplace.compliance.policy import CompliancePermission as Perm
from marketplace.kernel import audit
from marketplace.kernel.db import get_session, transactional
from marketplace.kernel.errors import Conflict, NotFound, ValidationFailed
from marketplace.kernel.principal import Principal

MODEL_FIELDS = ("id", "organization_id", "name", "version", "provider", "release_date", "description", "created_at")
RUN_FIELDS = ("id", "model_id", "name", "started_on", "ended_on", "created_at")
INPUT_FIELDS = ("id", "kind", "grant_id", "version_id", "files", "name", "description", "url", "modality", "size", "languages", "details", "created_at")


def model_for(principal: Principal, model_id: uuid.UUID, perm: Perm) -> AIModel:
    """A model the caller may act on with `perm` (404 for anyone outside its organisation)."""
    model = get_session().get(AIModel, model_id)
    if model is None:
        raise NotFound("No such model.")
    POLICY.require(principal, perm, org=model.organization_id, hidden_as="No such model.")
    return model


def _run(principal: Principal, run_id: uuid.UUID, perm: Perm) -> tuple[TrainingRun, AIModel]:
    run = get_session().get(TrainingRun, run_id)
    if run is None:
        raise NotFound("No such training run.")
    model = get_session().get_one(AIModel, run.model_id)
    POLICY.require(principal, perm, org=model.organization_id, hidden_as="No such training run.")
    return run, model


@transactional
def create_model(principal: Principal, org_id: uuid.UUID, *, name: str, version: str, provider: str, release_date: date | None,
                 description: str = "") -> AIModel:
    """Declare a model of the organisation (unique by name and version)."""
    POLICY.require(principal, Perm.MODEL_WRITE, org=org_id)
    session = get_session()
    if session.scalar(select(AIModel.id).where(AIModel.organization_id == org_id, AIModel.name == name, AIModel.version == version)):
        raise Conflict(f"The organisation already has {name} {version}.", errors={"version": ["Already declared; use another version."]})
    model = AIModel(organization_id=org_id, name=name, version=version, provider=provider, release_date=release_date, description=description,
                    created_by=principal.user_id)
    session.add(model)
    try:
        session.flush()
    except IntegrityError as e:  # a concurrent declaration of the same name and version
        raise Conflict(f"The organisation already has {name} {version}.", errors={"version": ["Already declared; use another version."]}) from e
    audit.record(principal, ComplianceAction.MODEL_CREATE, subject_type="model", subject_id=model.id, subject_org_id=org_id, actor_org_id=org_id,
                 details={"name": name, "version": version})
    return model


@transactional
def update_model(principal: Principal, model_id: uuid.UUID, **fields: Any) -> AIModel:
    """Change a model's provider, release date or description."""
    model = model_for(principal, model_id, Perm.MODEL_WRITE)
    for k, v in fields.items():
        setattr(model, k, v)
    audit.record(principal, ComplianceAction.MODEL_UPDATE, subject_type="model", subject_id=model.id, subject_org_id=model.organization_id,
                 actor_org_id=model.organization_id, details={"fields": sorted(fields)})
    return model


def list_models(principal: Principal, org_id: uuid.UUID) -> list[AIModel]:
    """The organisation's models, newest first."""
    POLICY.require(principal, Perm.MODEL_READ, org=org_id)
    return list(get_session().scalars(select(AIModel).where(AIModel.organization_id == org_id).order_by(AIModel.created_at.desc())))


def model_detail(principal: Principal, model_id: uuid.UUID) -> dict[str, Any]:
    """A model with its runs and their inputs (two queries for all of them)."""
    model = model_for(principal, model_id, Perm.MODEL_READ)
    return detail_of(model)


def detail_of(model: AIModel) -> dict[str, Any]:
    """A model as a dict with its runs and inputs, for a caller already allowed to read it."""
    session = get_session()
    runs = list(session.scalars(select(TrainingRun).where(TrainingRun.model_id == model.id).order_by(TrainingRun.created_at, TrainingRun.name)))
    inputs: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if runs:
        for i in session.scalars(select(TrainingInput).where(TrainingInput.run_id.in_([r.id for r in runs])).order_by(TrainingInput.created_at)):
            inputs.setdefault(i.run_id, []).append({c: getattr(i, c) for c in INPUT_FIELDS})
    out = {c: getattr(model, c) for c in MODEL_FIELDS}
    out["runs"] = [dict({c: getattr(r, c) for c in RUN_FIELDS}, inputs=inputs.get(r.id, [])) for r in runs]
    return out


@transactional
def create_run(principal: Principal, model_id: uuid.UUID, *, name: str, started_on: date | None = None, ended_on: date | None = None) -> TrainingRun:
    """Declare a training run of a model (unique by name within the model)."""
    model = model_for(principal, model_id, Perm.MODEL_WRITE)
    session = get_session()
    if session.scalar(select(TrainingRun.id).where(TrainingRun.model_id == model.id, TrainingRun.name == name)):
        raise Conflict(f"The model already has a run named {name}.", errors={"name": ["Already used by another run of this model."]})
    run = TrainingRun(model_id=model.id, name=name, started_on=started_on, ended_on=ended_on)
    session.add(run)
    try:
        session.flush()
    except IntegrityError as e:
        raise Conflict(f"The model already has a run named {name}.", errors={"name": ["Already used by another run of this model."]}) from e
    audit.record(principal, ComplianceAction.TRAINING_RUN_CREATE, subject_type="training_run", subject_id=run.id, subject_org_id=model.organization_id,
                 actor_org_id=model.organization_id, details={"model_id": str(model.id), "name": name})
    return run


def run_view(principal: Principal, run_id: uuid.UUID) -> dict[str, Any]:
    """One run with its inputs."""
    run, model = _run(principal, run_id, Perm.MODEL_READ)
    return _run_dict(run, model)


def create_run_view(principal: Principal, model_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """Declare a run and answer with it (writing needs no read scope: the writer sees what it wrote)."""
    run = create_run(principal, model_id, **fields)
    return _run_dict(run, get_session().get_one(AIModel, run.model_id))


def _run_dict(run: TrainingRun, model: AIModel) -> dict[str, Any]:
    return next(r for r in detail_of(model)["runs"] if r["id"] == run.id)


@transactional
def add_input(principal: Principal, run_id: uuid.UUID, **fields: Any) -> TrainingInput:
    """Attach what a run was fed. A grant input must be one of the organisation's grants, for a
    published version of the grant's dataset, and every file attached must be a file of that
    version with the same SHA-256 (as a verified download has it)."""
    run, model = _run(principal, run_id, Perm.MODEL_WRITE)
    session = get_session()
    details = {k: fields.pop(k) for k in ("crawler", "period_start", "period_end", "opt_outs_respected", "generating_models") if k in fields}
    details = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in details.items() if v not in (None, [], "")}
    row = TrainingInput(run_id=run.id, kind=fields["kind"], name=fields.get("name") or "", description=fields.get("description") or "",
                        url=fields.get("url"), modality=fields.get("modality"), size=fields.get("size"), languages=fields.get("languages") or [], details=details)
    if fields["kind"] == InputKind.grant.value:
        grant = session.get(Grant, fields["grant_id"])
        if grant is None or grant.buyer_org_id != model.organization_id:
            raise NotFound("No such grant.")
        version = _grant_version(grant, fields.get("version_id"), fields.get("files"))
        if not grant_covers(grant, version.id):
            # A version the grant never covered (newer terms not accepted, a licence it does not
            # allow) is not data licensed under it, whatever the buyer says.
            raise ValidationFailed("This grant does not cover that version.", errors={"version_id": [
                f"Version {version.version} comes under terms this grant does not cover; attach a version the grant delivered."]})
        row.grant_id, row.version_id = grant.id, version.id
        if fields.get("files"):
            row.files = _matched_files(version, fields["files"])
        same = session.scalars(select(TrainingInput).where(TrainingInput.run_id == run.id, TrainingInput.grant_id == grant.id,
                                                           TrainingInput.version_id == version.id)).all()
        if any(_file_set(i.files) == _file_set(row.files) for i in same):
            raise Conflict("The run already has this input.", errors={"grant_id": ["These files of this version are already attached to this run."]})
    session.add(row)
    session.flush()
    audit.record(principal, ComplianceAction.TRAINING_INPUT_ADD, subject_type="training_run", subject_id=run.id, subject_org_id=model.organization_id,
                 actor_org_id=model.organization_id, details={"input_id": str(row.id), "kind": row.kind, "grant_id": str(row.grant_id) if row.grant_id else None,
                                                              "files": len(row.files) if row.files else None})
    return row


@transactional
def delete_run(principal: Principal, run_id: uuid.UUID) -> None:
    """Remove a run declared by mistake; only while nothing is attached to it (a run with inputs
    is part of a model's record: detach them first, each detachment audited)."""
    run, model = _run(principal, run_id, Perm.MODEL_WRITE)
    if get_session().scalar(select(TrainingInput.id).where(TrainingInput.run_id == run.id).limit(1)) is not None:
        raise Conflict("The run has inputs: detach them first.", errors={"run_id": ["Detach its inputs first."]})
    get_session().delete(run)
    audit.record(principal, ComplianceAction.TRAINING_RUN_DELETE, subject_type="training_run", subject_id=run.id, subject_org_id=model.organization_id,
                 actor_org_id=model.organization_id, details={"model_id": str(model.id), "name": run.name})


@transactional
def remove_input(principal: Principal, run_id: uuid.UUID, input_id: uuid.UUID) -> None:
    """Detach an input from a run (a correction; the audit log keeps both)."""
    run, model = _run(principal, run_id, Perm.MODEL_WRITE)
    row = get_session().get(TrainingInput, input_id)
    if row is None or row.run_id != run.id:
        raise NotFound("No such input.")
    get_session().delete(row)
    audit.record(principal, ComplianceAction.TRAINING_INPUT_REMOVE, subject_type="training_run", subject_id=run.id, subject_org_id=model.organization_id,
                 actor_org_id=model.organization_id, details={"input_id": str(input_id)})


def _file_set(files: list[dict[str, Any]] | None) -> frozenset[str] | None:
    return None if files is None else frozenset(f"{f['path']}\x00{f['sha256']}" for f in files)


def _grant_version(grant: Grant, version_id: uuid.UUID | None, files: list[dict[str, str]] | None) -> DatasetVersion:
    """The version an input used: the grant's own, the one named, or (for a grant that follows
    the latest version) the newest published version holding every attached file as attached."""
    session = get_session()
    if grant.version_id is not None and version_id is not None and version_id != grant.version_id:
        raise ValidationFailed("This grant is for one version only.", errors={"version_id": [f"The grant covers version {grant.version_id} only."]})
    vid = grant.version_id or version_id
    if vid is None and files:
        wanted = {(f["path"], f["sha256"]) for f in files}
        for v in session.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == grant.dataset_id, DatasetVersion.published_at.is_not(None))
                                 .order_by(DatasetVersion.published_at.desc())):
            have = {(p, h) for p, h in session.execute(select(VersionFile.path, VersionFile.sha256).where(VersionFile.version_id == v.id))}
            if wanted <= have and grant_covers(grant, v.id):  # the newest version the grant covers that holds these files
                return v
        latest = session.get(Dataset, grant.dataset_id)
        if latest is not None and latest.latest_version_id is not None:
            _matched_files(session.get_one(DatasetVersion, latest.latest_version_id), files)  # names the files that differ
        raise ValidationFailed("No version of the grant's dataset holds these files.", errors={"files": ["No published version has every one of these files with these digests."]})
    if vid is None:
        raise ValidationFailed("Say which version was used.", errors={"version_id": ["The grant follows the latest version: name the one you trained on, or attach its files."]})
    version = session.get(DatasetVersion, vid)
    if version is None or version.dataset_id != grant.dataset_id or version.published_at is None:
        raise ValidationFailed("Not a version of the grant's dataset.", errors={"version_id": ["Not a published version of the dataset this grant is for."]})
    return version


def _matched_files(version: DatasetVersion, files: list[dict[str, str]]) -> list[dict[str, Any]]:
    have = {f.path: f for f in get_session().scalars(select(VersionFile).where(VersionFile.version_id == version.id))}
    out, wrong = [], []
    for f in files:
        known = have.get(f["path"])
        if known is None or known.sha256 != f["sha256"]:
            wrong.append(f["path"])
        else:
            out.append({"path": known.path, "sha256": known.sha256, "size": known.size})
    if wrong:
        raise ValidationFailed("Some files are not this version's, or their content differs.",
                               errors={"files": [f"{len(wrong)} file(s) do not match the version's manifest: " + ", ".join(wrong[:10])]})
    if len({f["path"] for f in out}) != len(out):
        raise ValidationFailed("A file is listed twice.", errors={"files": ["Each file once."]})
    return out
