//! Branches (operations `listBranches`, `getBranch`, `createBranch`):
//! writable filesystems made from a checkpoint of a disk or of another
//! branch. No API creates checkpoints, so they come from fixtures. Wire
//! fields are snake_case here, unlike the rest of the API.

use rand::Rng;
use serde::Serialize;
use serde_json::Value;

use super::disks::{self, format_id, Disk, Malformed};
use super::{shorten, Ctx, Input};
use crate::clock;
use crate::error::ApiError;
use crate::state::State;

/// A checkpoint of the root disk (`branch: None`) or of a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Its name, unique per filesystem.
    pub name: String,
    /// The branch it was taken on; `None` for the root disk.
    pub branch: Option<String>,
}

/// A stored branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// `^[A-Za-z0-9_-]{1,100}$`, unique across the disk.
    pub name: String,
    /// The branch's own filesystem: `fs-` + 16 hex.
    pub filesystem_id: String,
    /// The checkpoint it was made from.
    pub from_checkpoint: String,
    /// The branch that checkpoint is on; `None` for the root disk.
    pub from_branch: Option<String>,
    /// Epoch ms.
    pub created_ms: i64,
    /// The `Idempotency-Key` that created it, if any.
    pub idempotency_key: Option<String>,
}

/// `BranchResponse`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BranchView {
    /// The disk's id.
    pub root_filesystem_id: String,
    /// The branch's name.
    pub branch_name: String,
    /// The branch's own filesystem.
    pub filesystem_id: String,
    /// The checkpoint it was made from.
    pub from_checkpoint_name: String,
    /// The disk's id, or the source branch's filesystem.
    pub from_checkpoint_filesystem_id: String,
    /// RFC 3339.
    pub created_at: String,
}

/// A validated `createBranch` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBranch {
    /// `branch_name`.
    pub name: String,
    /// `from_checkpoint_name`.
    pub from_checkpoint: String,
    /// `from_branch`; absent or `""` means the root disk.
    pub from_branch: Option<String>,
}

/// Checks a branch name: 1..=100 characters of `[A-Za-z0-9_-]`.
pub fn check_name(name: &str) -> Result<(), String> {
    disks::check_name(name)
}

impl NewBranch {
    /// Validates a decoded body; unknown fields are ignored.
    pub fn parse(body: &serde_json::Map<String, Value>) -> Result<NewBranch, ApiError> {
        let required = |field: &str| {
            super::string_field(body, field)?
                .map(str::to_owned)
                .ok_or_else(|| super::missing(field))
        };
        let name = required("branch_name")?;
        check_name(&name).map_err(|why| ApiError::Validation(format!("branch_name {why}")))?;
        let from_checkpoint = required("from_checkpoint_name")?;
        if from_checkpoint.is_empty() {
            return Err(ApiError::Validation(
                "from_checkpoint_name must not be empty".into(),
            ));
        }
        Ok(NewBranch {
            name,
            from_checkpoint,
            from_branch: super::string_field(body, "from_branch")?
                .filter(|b| !b.is_empty())
                .map(str::to_owned),
        })
    }
}

/// The view of a branch of `disk`.
pub fn view(disk: &Disk, branch: &Branch) -> BranchView {
    let root = format_id(disk.id);
    let from_fs = match &branch.from_branch {
        None => root.clone(),
        Some(name) => disk
            .branches
            .iter()
            .find(|b| b.name == *name)
            .map(|b| b.filesystem_id.clone())
            .unwrap_or_else(|| root.clone()),
    };
    BranchView {
        root_filesystem_id: root,
        branch_name: branch.name.clone(),
        filesystem_id: branch.filesystem_id.clone(),
        from_checkpoint_name: branch.from_checkpoint.clone(),
        from_checkpoint_filesystem_id: from_fs,
        created_at: clock::format_ms(branch.created_ms),
    }
}

/// `GET /api/disks/{id}/branches`: every branch, oldest first.
pub fn list(state: &State, ctx: Ctx, id: &str) -> Result<Vec<BranchView>, ApiError> {
    let disk = disks::find(state, ctx, id, Malformed::BadRequest)?;
    Ok(disk.branches.iter().map(|b| view(disk, b)).collect())
}

/// `GET /api/disks/{id}/branches/{name}`; `name` is already percent-decoded.
pub fn get(state: &State, ctx: Ctx, id: &str, name: &str) -> Result<BranchView, ApiError> {
    let disk = disks::find(state, ctx, id, Malformed::BadRequest)?;
    check_name(name).map_err(|why| ApiError::Validation(format!("branch name {why}")))?;
    disk.branches
        .iter()
        .find(|b| b.name == name)
        .map(|b| view(disk, b))
        .ok_or_else(|| ApiError::NotFound(format!("branch {} not found", shorten(name))))
}

/// `POST /api/disks/{id}/branches`: 201 with the branch. A taken name is
/// 409, unless the request repeats the `Idempotency-Key` and body that
/// created it, which returns that branch again.
pub fn create(state: &mut State, ctx: Ctx, id: &str, input: Input) -> Result<BranchView, ApiError> {
    let disk = disks::find_mut(state, ctx, id, Malformed::BadRequest)?;
    let new = NewBranch::parse(&super::json_object(input)?)?;
    let key = input.idempotency_key.filter(|k| !k.is_empty());
    if let Some(existing) = disk.branches.iter().find(|b| b.name == new.name) {
        let replay = key.is_some()
            && existing.idempotency_key.as_deref() == key
            && existing.from_checkpoint == new.from_checkpoint
            && existing.from_branch == new.from_branch;
        if replay {
            return Ok(view(disk, existing));
        }
        return Err(ApiError::Conflict(format!(
            "branch {} already exists",
            new.name
        )));
    }
    if let Some(key) = key {
        if disk
            .branches
            .iter()
            .any(|b| b.idempotency_key.as_deref() == Some(key))
        {
            return Err(ApiError::Conflict(
                "this Idempotency-Key was used for a different branch".into(),
            ));
        }
    }
    if let Some(from) = &new.from_branch {
        if !disk.branches.iter().any(|b| b.name == *from) {
            return Err(ApiError::NotFound(format!(
                "branch {} not found",
                shorten(from)
            )));
        }
    }
    if !disk
        .checkpoints
        .iter()
        .any(|c| c.name == new.from_checkpoint && c.branch == new.from_branch)
    {
        return Err(ApiError::NotFound(format!(
            "checkpoint {} not found on {}",
            shorten(&new.from_checkpoint),
            new.from_branch
                .as_deref()
                .map_or("the disk".to_owned(), |b| format!("branch {b}"))
        )));
    }
    let branch = Branch {
        name: new.name,
        filesystem_id: new_filesystem_id(),
        from_checkpoint: new.from_checkpoint,
        from_branch: new.from_branch,
        created_ms: ctx.now_ms,
        idempotency_key: key.map(str::to_owned),
    };
    let shown = view(disk, &branch);
    disk.branches.push(branch);
    Ok(shown)
}

/// `fs-` + 16 hex from the thread-local CSPRNG.
pub fn new_filesystem_id() -> String {
    format!("fs-{:016x}", rand::rng().random::<u64>())
}
