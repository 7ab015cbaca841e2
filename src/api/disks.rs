//! Disks (operations `listDisks`, `createDisk`, `getDisk`, `deleteDisk`) and
//! the disk store every disk sub-resource hangs off: users
//! ([`super::disk_users`]), settings ([`super::disk_settings`]) and branches
//! ([`super::branches`]) are their own modules over the same [`Disk`].
//!
//! Mount secrets (`secretAccessKey`, `clientSecret`, …) are validated and then
//! dropped: nothing here can echo, log or persist one.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value};

use super::branches::{Branch, Checkpoint};
use super::disk_settings::{check_ip, Delegation};
use super::disk_users::{self, DiskUser, NewUser, UserView};
use super::{json_type_name, optional_string, query_params, shorten, Ctx, Message};
use crate::clock;
use crate::error::ApiError;
use crate::state::{AccountId, State};

/// `name`: 1..=100 characters of `[a-zA-Z0-9_-]`.
pub const NAME_MAX: usize = 100;
/// Disk list cursors start with this.
const CURSOR_TAG: char = 'd';
/// `limit` when the client gives none.
pub const DEFAULT_LIMIT: usize = 50;
/// Larger `limit`s are clamped to this, as the SDK documents the real server does.
pub const MAX_LIMIT: usize = 100;
/// The largest uid or gid in `rootAttrs` (4294967295 is "no id" and refused).
pub const ROOT_ID_MAX: i64 = 4_294_967_294;
/// `rootAttrs.mode`: permission bits only (0o777); setuid, setgid and sticky are refused.
pub const ROOT_MODE_MAX: i64 = 0o777;

/// A disk's lifecycle status, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ready to mount.
    Available,
    /// Being provisioned.
    Creating,
    /// Being torn down (only from fixtures).
    Deleting,
    /// Gone (only from fixtures).
    Deleted,
    /// Provisioning failed (only from fixtures).
    Failed,
}

/// How a disk's status is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// `creating` until this time (epoch ms), `available` from then on.
    ReadyAt(i64),
    /// This status for good (a fixture pinned it).
    Pinned(Status),
}

impl Lifecycle {
    /// The status at `now_ms`.
    pub fn status(self, now_ms: i64) -> Status {
        match self {
            Lifecycle::ReadyAt(at) if now_ms < at => Status::Creating,
            Lifecycle::ReadyAt(_) => Status::Available,
            Lifecycle::Pinned(s) => s,
        }
    }
}

/// The five mount types (`MountConfig`'s discriminator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    /// Amazon S3.
    S3,
    /// Google Cloud Storage.
    Gcs,
    /// Cloudflare R2.
    R2,
    /// Any S3-compatible endpoint.
    S3Compatible,
    /// Azure Blob Storage.
    AzureBlob,
}

impl MountType {
    const ALL: [(&'static str, MountType); 5] = [
        ("s3", MountType::S3),
        ("gcs", MountType::Gcs),
        ("r2", MountType::R2),
        ("s3-compatible", MountType::S3Compatible),
        ("azure-blob", MountType::AzureBlob),
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(n, _)| *n)
            .expect("every type is listed")
    }

    /// Required fields, beyond `type`, as the spec's variants list them.
    fn required(self) -> &'static [&'static str] {
        match self {
            MountType::S3 => &["bucketName"],
            MountType::Gcs => &["bucketName", "accessKeyId", "secretAccessKey"],
            MountType::R2 | MountType::S3Compatible => &[
                "bucketName",
                "bucketEndpoint",
                "accessKeyId",
                "secretAccessKey",
            ],
            MountType::AzureBlob => &["containerName", "tenantId", "clientId", "clientSecret"],
        }
    }

    /// Optional string fields, beyond the required ones.
    fn optional(self) -> &'static [&'static str] {
        match self {
            MountType::S3 => &[
                "accessKeyId",
                "secretAccessKey",
                "sessionToken",
                "bucketPrefix",
                "bucketRegion",
            ],
            MountType::Gcs | MountType::R2 | MountType::S3Compatible => {
                &["bucketPrefix", "bucketRegion"]
            }
            MountType::AzureBlob => &["endpoint", "storageAccountName", "bucketPrefix"],
        }
    }
}

/// Fields that are credentials: checked to be strings, then never stored.
pub const MOUNT_SECRETS: [&str; 4] = [
    "accessKeyId",
    "secretAccessKey",
    "sessionToken",
    "clientSecret",
];

/// A mount as configured, without its secrets: what idempotent create compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// The storage type.
    pub kind: MountType,
    /// The non-secret string fields as given (`bucketName`, `tenantId`, …), sorted by name.
    pub fields: BTreeMap<String, String>,
    /// `iam`, `accessKeys` or `oauth`, from which credentials were given.
    pub authorization: &'static str,
}

/// A stored mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `mnt-` + 16 hex, fixed at creation.
    pub id: String,
    /// What was configured.
    pub spec: MountSpec,
}

/// `rootAttrs`: the owner and mode of the disk's root directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RootAttrs {
    /// 0..=4294967294.
    pub uid: u32,
    /// 0..=4294967294.
    pub gid: u32,
    /// 0..=0o777.
    pub mode: u32,
}

impl Default for RootAttrs {
    fn default() -> Self {
        RootAttrs {
            uid: 0,
            gid: 0,
            mode: 0o755,
        }
    }
}

/// One disk and everything that hangs off it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// The 64 random bits of `dsk-` + 16 hex.
    pub id: u64,
    /// Unique in its account.
    pub name: String,
    /// Epoch ms.
    pub created_ms: i64,
    /// The region it was created in.
    pub region: Arc<str>,
    /// How its status is decided.
    pub lifecycle: Lifecycle,
    /// At most one mount; empty means archil-managed storage.
    pub mounts: Vec<Mount>,
    /// IPs and CIDRs allowed to mount; empty allows all.
    pub allowed_ips: Vec<String>,
    /// The root directory's owner and mode.
    pub root_attrs: RootAttrs,
    /// The oldest client version allowed to mount, if set.
    pub min_client_version: Option<String>,
    /// Who may mount it.
    pub users: Vec<DiskUser>,
    /// Checkpoints, which only fixtures create.
    pub checkpoints: Vec<Checkpoint>,
    /// Branches, oldest first.
    pub branches: Vec<Branch>,
    /// Client delegations, which only fixtures create.
    pub delegations: Vec<Delegation>,
    /// Epoch ms of the last access, if any.
    pub last_accessed_ms: Option<i64>,
    /// Its files and directories (the object gateway's index).
    pub objects: crate::gateway::objects::Objects,
}

/// Every account's disks in creation order, with the id and name indexes.
#[derive(Debug, Clone, Default)]
pub struct DiskStore {
    /// Per account (indexed by [`AccountId`]): creation sequence → disk. The
    /// sequence is the pagination cursor.
    lists: Vec<BTreeMap<u64, Disk>>,
    by_id: HashMap<u64, (AccountId, u64)>,
    by_name: HashMap<(AccountId, String), u64>,
    next_seq: u64,
}

impl DiskStore {
    /// Adds a disk after every disk its account has; fails on a taken id or name.
    pub fn insert(&mut self, account: AccountId, disk: Disk) -> Result<(), String> {
        if self.by_id.contains_key(&disk.id) {
            return Err(format!("disk id {} is already taken", format_id(disk.id)));
        }
        let name_key = (account, disk.name.clone());
        if self.by_name.contains_key(&name_key) {
            return Err(format!("disk name {:?} is already taken", disk.name));
        }
        let idx = account as usize;
        if self.lists.len() <= idx {
            self.lists.resize_with(idx + 1, BTreeMap::new);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_id.insert(disk.id, (account, seq));
        self.by_name.insert(name_key, seq);
        self.lists[idx].insert(seq, disk);
        Ok(())
    }

    /// An account's disks, oldest first.
    pub fn of(&self, account: AccountId) -> impl Iterator<Item = &Disk> {
        self.lists
            .get(account as usize)
            .into_iter()
            .flat_map(|l| l.values())
    }

    fn locate(&self, account: AccountId, id: u64) -> Option<u64> {
        self.by_id
            .get(&id)
            .filter(|(owner, _)| *owner == account)
            .map(|&(_, seq)| seq)
    }

    fn remove(&mut self, account: AccountId, seq: u64) -> Option<Disk> {
        let disk = self.lists.get_mut(account as usize)?.remove(&seq)?;
        self.by_id.remove(&disk.id);
        self.by_name.remove(&(account, disk.name.clone()));
        Some(disk)
    }
}

/// How a path's disk id that is not `dsk-` + 16 lowercase hex is answered:
/// 400 where the spec lists one, 404 where it lists none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// 400 naming the format.
    BadRequest,
    /// 404, as for an unknown id.
    NotFound,
}

/// The disk a path names in the caller's account. Another account's disk is
/// as unknown as a made-up id.
pub fn find<'s>(
    state: &'s State,
    ctx: Ctx,
    id: &str,
    malformed: Malformed,
) -> Result<&'s Disk, ApiError> {
    let n = parse_id(id, malformed)?;
    let seq = state
        .disks
        .locate(ctx.account, n)
        .ok_or_else(|| not_found(id))?;
    Ok(&state.disks.lists[ctx.account as usize][&seq])
}

/// As [`find`], for a change.
pub fn find_mut<'s>(
    state: &'s mut State,
    ctx: Ctx,
    id: &str,
    malformed: Malformed,
) -> Result<&'s mut Disk, ApiError> {
    let n = parse_id(id, malformed)?;
    let seq = state
        .disks
        .locate(ctx.account, n)
        .ok_or_else(|| not_found(id))?;
    Ok(state.disks.lists[ctx.account as usize]
        .get_mut(&seq)
        .expect("indexed disks exist"))
}

fn parse_id(id: &str, malformed: Malformed) -> Result<u64, ApiError> {
    parse_disk_id(id).ok_or_else(|| match malformed {
        Malformed::BadRequest => ApiError::Validation(format!(
            "disk id {} is malformed: expected dsk- and 16 lowercase hex characters",
            shorten(id)
        )),
        Malformed::NotFound => not_found(id),
    })
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("disk {} not found", shorten(id)))
}

/// The 64 bits of a well-formed disk id.
pub fn parse_disk_id(id: &str) -> Option<u64> {
    let hex = id.strip_prefix("dsk-")?;
    (hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

/// `dsk-` + 16 lowercase hex.
pub fn format_id(id: u64) -> String {
    format!("dsk-{id:016x}")
}

/// A fresh id from the thread-local CSPRNG that no disk has.
pub fn new_id(state: &State) -> u64 {
    loop {
        let id: u64 = rand::rng().random();
        if !state.disks.by_id.contains_key(&id) {
            return id;
        }
    }
}

/// Checks a disk name: 1..=100 characters of `[a-zA-Z0-9_-]`.
pub fn check_name(name: &str) -> Result<(), String> {
    // Characters, not bytes: a short non-ASCII name is refused for its
    // characters, not for a length it does not have.
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(format!("must be between 1 and {NAME_MAX} characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("may contain only letters, digits, '_' and '-'".to_owned());
    }
    Ok(())
}

/// A validated `CreateDiskRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDisk {
    /// The name.
    pub name: String,
    /// 0..=1 mounts.
    pub mounts: Vec<MountSpec>,
    /// The deprecated `authMethods`: when given (even `[]`), no default user.
    pub auth_methods: Option<Vec<NewUser>>,
    /// Given allowed IPs.
    pub allowed_ips: Option<Vec<String>>,
    /// Given root attributes, defaults filled in.
    pub root_attrs: Option<RootAttrs>,
    /// Given minimum client version.
    pub min_client_version: Option<String>,
}

impl NewDisk {
    /// Validates a decoded body; errors name the field and the rule. Unknown
    /// fields are ignored, as the schema does not forbid them.
    pub fn parse(body: &Map<String, Value>, now_ms: i64) -> Result<NewDisk, ApiError> {
        let name = super::string_field(body, "name")?
            .ok_or_else(|| super::missing("name"))?
            .to_owned();
        check_name(&name).map_err(|why| ApiError::Validation(format!("name {why}")))?;
        let mounts = match body.get("mounts") {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                if items.len() > 1 {
                    return Err(ApiError::Validation(format!(
                        "mounts may hold at most 1 entry, not {}",
                        items.len()
                    )));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        parse_mount(m, false).map_err(|e| prefixed(&format!("mounts[{i}]"), e))
                    })
                    .collect::<Result<_, _>>()?
            }
            Some(other) => {
                return Err(ApiError::Validation(format!(
                    "mounts must be an array, not {}",
                    json_type_name(other)
                )))
            }
        };
        let auth_methods = match body.get("authMethods") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, u)| {
                        let Value::Object(u) = u else {
                            return Err(ApiError::Validation(format!(
                                "authMethods[{i}] must be an object, not {}",
                                json_type_name(u)
                            )));
                        };
                        NewUser::parse(u, now_ms)
                            .map_err(|e| prefixed(&format!("authMethods[{i}]"), e))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(other) => {
                return Err(ApiError::Validation(format!(
                    "authMethods must be an array, not {}",
                    json_type_name(other)
                )))
            }
        };
        let allowed_ips = super::optional_strings(body, "allowedIps", check_ip)?;
        let root_attrs = match body.get("rootAttrs") {
            None => None,
            Some(Value::Object(attrs)) => Some(parse_root_attrs(attrs)?),
            Some(other) => {
                return Err(ApiError::Validation(format!(
                    "rootAttrs must be an object, not {}",
                    json_type_name(other)
                )))
            }
        };
        let min_client_version = optional_string(body, "minClientVersion", 100)?;
        Ok(NewDisk {
            name,
            mounts,
            auth_methods,
            allowed_ips,
            root_attrs,
            min_client_version,
        })
    }
}

/// Prefixes a validation message with where it applies (`mounts[0].`).
pub(crate) fn prefixed(at: &str, e: ApiError) -> ApiError {
    match e {
        // "must be an object" is about the whole value; "type is required"
        // about one of its fields.
        ApiError::Validation(m) if m.starts_with("must ") => {
            ApiError::Validation(format!("{at} {m}"))
        }
        ApiError::Validation(m) => ApiError::Validation(format!("{at}.{m}")),
        other => other,
    }
}

/// Validates one `MountConfig`. With `fixture`, credentials are optional and
/// `authorizationType` is read: snapshots drop the credentials and write the
/// authorization type they implied instead.
pub fn parse_mount(value: &Value, fixture: bool) -> Result<MountSpec, ApiError> {
    let bad = |m: String| ApiError::Validation(m);
    let Value::Object(m) = value else {
        return Err(bad(format!(
            "must be an object, not {}",
            json_type_name(value)
        )));
    };
    let t = super::string_field(m, "type")?.ok_or_else(|| super::missing("type"))?;
    let kind = MountType::ALL
        .iter()
        .find(|(n, _)| *n == t)
        .map(|(_, k)| *k)
        .ok_or_else(|| {
            bad(format!(
                "type must be one of s3, gcs, r2, s3-compatible, azure-blob, not {:?}",
                shorten(t)
            ))
        })?;
    let mut fields = BTreeMap::new();
    let mut has_keys = false;
    for (name, required) in kind
        .required()
        .iter()
        .map(|n| (*n, true))
        .chain(kind.optional().iter().map(|n| (*n, false)))
    {
        // A snapshot drops credentials, so a fixture need not give them.
        let required = required && !(fixture && MOUNT_SECRETS.contains(&name));
        let text = match m.get(name) {
            None if required => {
                return Err(bad(format!(
                    "{name} is required for a {} mount",
                    kind.as_str()
                )))
            }
            None => continue,
            Some(Value::String(s)) if required && s.is_empty() => {
                return Err(bad(format!("{name} must not be empty")))
            }
            Some(Value::String(s)) if s.chars().count() > 2048 => {
                return Err(bad(format!("{name} must be at most 2048 characters")))
            }
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(bad(format!(
                    "{name} must be a string, not {}",
                    json_type_name(other)
                )))
            }
        };
        if MOUNT_SECRETS.contains(&name) {
            has_keys = true;
        } else {
            fields.insert(name.to_owned(), text.clone());
        }
    }
    let authorization = match kind {
        MountType::AzureBlob => "oauth",
        MountType::S3 if !has_keys => "iam",
        _ => "accessKeys",
    };
    let authorization = match (fixture, m.get("authorizationType")) {
        (true, Some(Value::String(a))) => match a.as_str() {
            "iam" => "iam",
            "accessKeys" => "accessKeys",
            "oauth" => "oauth",
            _ => {
                return Err(bad(
                    "authorizationType must be iam, accessKeys or oauth".into()
                ))
            }
        },
        _ => authorization,
    };
    Ok(MountSpec {
        kind,
        fields,
        authorization,
    })
}

/// Validates `rootAttrs`, filling defaults for what is left out.
pub fn parse_root_attrs(attrs: &Map<String, Value>) -> Result<RootAttrs, ApiError> {
    let d = RootAttrs::default();
    let field = |name: &str, max: i64| {
        super::optional_integer(attrs, name, 0, max)
            .map_err(|e| prefixed("rootAttrs", e))
            .map(|v| v.map(|n| n as u32))
    };
    Ok(RootAttrs {
        uid: field("uid", ROOT_ID_MAX)?.unwrap_or(d.uid),
        gid: field("gid", ROOT_ID_MAX)?.unwrap_or(d.gid),
        mode: field("mode", ROOT_MODE_MAX)?.unwrap_or(d.mode),
    })
}

/// The `data` of a create response.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    /// The disk's id.
    pub disk_id: String,
    /// Its users; new token users carry their one-time `token`.
    pub authorized_users: Vec<UserView>,
}

/// What `POST /api/disks` did: 201 with new tokens, or 200 for an existing
/// disk with the same configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOutcome {
    /// Whether a disk was made.
    pub created: bool,
    /// The response data.
    pub data: Created,
}

/// `POST /api/disks`.
pub fn create(state: &mut State, ctx: Ctx, new: NewDisk) -> Result<CreateOutcome, ApiError> {
    if let Some(&seq) = state.disks.by_name.get(&(ctx.account, new.name.clone())) {
        let disk = &state.disks.lists[ctx.account as usize][&seq];
        if !same_config(disk, &new) {
            return Err(ApiError::Conflict(format!(
                "disk {:?} already exists with a different configuration",
                new.name
            )));
        }
        return Ok(CreateOutcome {
            created: false,
            data: Created {
                disk_id: format_id(disk.id),
                authorized_users: disk
                    .users
                    .iter()
                    .map(|u| u.view(ctx.now_ms, None))
                    .collect(),
            },
        });
    }
    let id = new_id(state);
    let ready_ms = state.settings.disk_ready_ms.min(i64::MAX as u64) as i64;
    let mut users = Vec::new();
    let mut shown = Vec::new();
    let methods = new
        .auth_methods
        .unwrap_or_else(|| vec![NewUser::token("default")]);
    for method in methods {
        let (user, secret) = disk_users::materialise(method, ctx.now_ms, &users)?;
        shown.push(user.view(ctx.now_ms, secret));
        users.push(user);
    }
    let disk = Disk {
        id,
        name: new.name,
        created_ms: ctx.now_ms,
        region: state.settings.region.clone(),
        lifecycle: Lifecycle::ReadyAt(ctx.now_ms.saturating_add(ready_ms)),
        mounts: new
            .mounts
            .into_iter()
            .map(|spec| Mount {
                id: format!("mnt-{:016x}", rand::rng().random::<u64>()),
                spec,
            })
            .collect(),
        allowed_ips: new.allowed_ips.unwrap_or_default(),
        root_attrs: new.root_attrs.unwrap_or_default(),
        min_client_version: new.min_client_version,
        users,
        checkpoints: Vec::new(),
        branches: Vec::new(),
        delegations: Vec::new(),
        last_accessed_ms: None,
        objects: Default::default(),
    };
    state
        .disks
        .insert(ctx.account, disk)
        .expect("the name is free and the id fresh");
    Ok(CreateOutcome {
        created: true,
        data: Created {
            disk_id: format_id(id),
            authorized_users: shown,
        },
    })
}

/// Idempotent create's "configuration matches": the mounts (without
/// secrets) always, and `allowedIps`, `rootAttrs` and `minClientVersion`
/// when the request gives them.
fn same_config(disk: &Disk, new: &NewDisk) -> bool {
    let mounts: Vec<&MountSpec> = disk.mounts.iter().map(|m| &m.spec).collect();
    mounts == new.mounts.iter().collect::<Vec<_>>()
        && new
            .allowed_ips
            .as_ref()
            .is_none_or(|ips| *ips == disk.allowed_ips)
        && new.root_attrs.is_none_or(|a| a == disk.root_attrs)
        && new
            .min_client_version
            .as_ref()
            .is_none_or(|v| disk.min_client_version.as_ref() == Some(v))
}

/// The validated query of a list request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    /// 1..=100 (other integers are clamped into it).
    pub limit: usize,
    /// Continue after this creation sequence.
    pub after: Option<u64>,
    /// Only the disk with exactly this name.
    pub name: Option<String>,
    /// Only disks whose name or id contains this.
    pub q: Option<String>,
    /// Add `total`, the number of disks matching the filters.
    pub short: bool,
}

impl ListQuery {
    /// Parses `limit`, `cursor`, `name`, `q` and `short`; other parameters are ignored.
    pub fn parse(query: Option<&str>) -> Result<ListQuery, ApiError> {
        let [limit, cursor, name, q, short] =
            query_params(query, ["limit", "cursor", "name", "q", "short"])?;
        let limit = match limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(text) => {
                let digits = text.strip_prefix('-').unwrap_or(text);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ApiError::Validation("limit must be an integer".into()));
                }
                // The spec sets a maximum and no minimum, and lists no 400
                // here: any integer is clamped into 1..=100 (below 1 would
                // be an empty page, which loops a cursor walk).
                match text.parse::<i64>() {
                    Ok(n) => n.clamp(1, MAX_LIMIT as i64) as usize,
                    // More digits than an i64 holds.
                    Err(_) if text.starts_with('-') => 1,
                    Err(_) => MAX_LIMIT,
                }
            }
        };
        let after = match cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(super::decode_cursor(CURSOR_TAG, text).ok_or_else(|| {
                ApiError::Validation("cursor is not a cursor this server issued".to_owned())
            })?),
        };
        let short = match short.as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => return Err(ApiError::Validation("short must be true or false".into())),
        };
        Ok(ListQuery {
            limit,
            after,
            name: name.filter(|n| !n.is_empty()),
            q: q.filter(|q| !q.is_empty()),
            short,
        })
    }
}

/// One page of disks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The disks, oldest first.
    pub data: Vec<DiskView>,
    /// The top-level `nextCursor`, when more remain.
    pub next_cursor: Option<String>,
    /// The number of matching disks, with `short=true`.
    pub total: Option<usize>,
}

/// `GET /api/disks`: one page of the caller's disks, oldest first.
pub fn list(state: &State, ctx: Ctx, query: &ListQuery) -> Page {
    let owner = state.account_name(ctx.account);
    let matches = |d: &Disk| {
        query.name.as_ref().is_none_or(|n| d.name == *n)
            && query
                .q
                .as_ref()
                .is_none_or(|q| d.name.contains(q.as_str()) || format_id(d.id).contains(q.as_str()))
    };
    let empty = BTreeMap::new();
    let disks = state
        .disks
        .lists
        .get(ctx.account as usize)
        .unwrap_or(&empty);
    let start = match query.after {
        Some(seq) => Bound::Excluded(seq),
        None => Bound::Unbounded,
    };
    let mut range = disks
        .range((start, Bound::Unbounded))
        .filter(|(_, d)| matches(d));
    let page: Vec<(&u64, &Disk)> = range.by_ref().take(query.limit).collect();
    let next_cursor = match (page.last(), range.next()) {
        (Some((&seq, _)), Some(_)) => Some(super::encode_cursor(CURSOR_TAG, seq)),
        _ => None,
    };
    Page {
        data: page
            .into_iter()
            .map(|(_, d)| view(d, owner, ctx.now_ms))
            .collect(),
        next_cursor,
        total: query
            .short
            .then(|| disks.values().filter(|d| matches(d)).count()),
    }
}

/// `GET /api/disks/{id}`.
pub fn get(state: &State, ctx: Ctx, id: &str) -> Result<DiskView, ApiError> {
    let disk = find(state, ctx, id, Malformed::BadRequest)?;
    Ok(view(disk, state.account_name(ctx.account), ctx.now_ms))
}

/// `DELETE /api/disks/{id}`: the disk goes at once, with its users, branches,
/// settings and contents; its name is free again. Returns the disk, whose
/// blobs the caller frees.
pub fn delete(state: &mut State, ctx: Ctx, id: &str) -> Result<Disk, ApiError> {
    let n = find(state, ctx, id, Malformed::BadRequest)?.id;
    let seq = state.disks.locate(ctx.account, n).expect("found just now");
    Ok(state
        .disks
        .remove(ctx.account, seq)
        .expect("found just now"))
}

/// The disk with this id in any account: for share URLs, which carry no
/// API key, and for replaying the object log.
pub fn find_any_mut(state: &mut State, id: u64) -> Option<&mut Disk> {
    let &(account, seq) = state.disks.by_id.get(&id)?;
    state.disks.lists[account as usize].get_mut(&seq)
}

/// Every disk of every account.
pub fn all(state: &State) -> impl Iterator<Item = &Disk> {
    state.disks.lists.iter().flat_map(|l| l.values())
}

/// Every disk of every account, to change.
pub fn all_mut(state: &mut State) -> impl Iterator<Item = &mut Disk> {
    state.disks.lists.iter_mut().flat_map(|l| l.values_mut())
}

/// The disk object (`DiskResponse`) as the API shows it. Optional fields
/// are left out rather than sent as null, which the generated client rejects.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DiskView {
    /// `dsk-` + 16 hex.
    pub id: String,
    /// The name.
    pub name: String,
    /// The owning account's name.
    pub organization: String,
    /// Its status now.
    pub status: Status,
    /// `aws` or `gcp`: the region's prefix.
    pub provider: String,
    /// e.g. `aws-us-east-1`.
    pub region: String,
    /// RFC 3339.
    pub created_at: String,
    /// Always false: the API never makes sandbox disks.
    pub sandbox_disk: bool,
    /// RFC 3339, once the disk has been accessed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accessed: Option<String>,
    /// Bytes stored (the spec's field).
    pub data_size: u64,
    /// Bytes stored (the newer client's field).
    pub active_data_bytes: u64,
    /// Bytes written in all.
    pub total_data_bytes: u64,
    /// e.g. `$0.00`.
    pub monthly_usage: String,
    /// At most one, without secrets.
    pub mounts: Vec<MountView>,
    /// Usage figures as formatted strings.
    pub metrics: Metrics,
    /// No FUSE clients connect to an emulator.
    pub connected_clients: Vec<Value>,
    /// Users, never with a token.
    pub authorized_users: Vec<UserView>,
    /// Empty allows all.
    pub allowed_ips: Vec<String>,
    /// `checkpoints` for archil-managed storage; none with a bucket of one's own.
    pub capabilities: Vec<&'static str>,
    /// The root directory's owner and mode.
    pub root_attrs: RootAttrs,
    /// The oldest client version allowed to mount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_client_version: Option<String>,
}

/// `DiskMetrics`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// e.g. `0 B`.
    pub data_transfer: String,
    /// e.g. `0`.
    pub requests: String,
    /// e.g. `0ms`.
    pub avg_response_time: String,
}

/// `MountResponse`: no secrets.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MountView {
    /// `mnt-` + 16 hex.
    pub id: String,
    /// The mount type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where it is mounted in the disk: the root.
    pub path: String,
    /// The bucket or container.
    pub name: String,
    /// `rw`.
    pub access_mode: &'static str,
    /// Bucket name, endpoint, prefix and region.
    pub config: BTreeMap<String, String>,
    /// `connected`.
    pub connection_status: &'static str,
    /// `iam`, `accessKeys` or `oauth`.
    pub authorization_type: &'static str,
}

/// Builds the disk object.
pub fn view(disk: &Disk, organization: &str, now_ms: i64) -> DiskView {
    let region = disk.region.to_string();
    DiskView {
        id: format_id(disk.id),
        name: disk.name.clone(),
        organization: organization.to_owned(),
        status: disk.lifecycle.status(now_ms),
        provider: provider_of(&region).to_owned(),
        region,
        created_at: clock::format_ms(disk.created_ms),
        sandbox_disk: false,
        last_accessed: disk.last_accessed_ms.map(clock::format_ms),
        data_size: disk.objects.stored_bytes,
        active_data_bytes: disk.objects.stored_bytes,
        total_data_bytes: disk.objects.written_bytes,
        monthly_usage: "$0.00".to_owned(),
        mounts: disk.mounts.iter().map(mount_view).collect(),
        metrics: Metrics {
            data_transfer: "0 B".to_owned(),
            requests: "0".to_owned(),
            avg_response_time: "0ms".to_owned(),
        },
        connected_clients: Vec::new(),
        authorized_users: disk.users.iter().map(|u| u.view(now_ms, None)).collect(),
        allowed_ips: disk.allowed_ips.clone(),
        capabilities: if disk.mounts.is_empty() {
            vec!["checkpoints"]
        } else {
            Vec::new()
        },
        root_attrs: disk.root_attrs,
        min_client_version: disk.min_client_version.clone(),
    }
}

fn mount_view(m: &Mount) -> MountView {
    let f = &m.spec.fields;
    let name = f
        .get("bucketName")
        .or_else(|| f.get("containerName"))
        .cloned()
        .unwrap_or_default();
    let mut config = BTreeMap::new();
    config.insert("bucketName".to_owned(), name.clone());
    for (from, to) in [
        ("bucketEndpoint", "bucketEndpoint"),
        ("endpoint", "bucketEndpoint"),
        ("bucketPrefix", "bucketPrefix"),
        ("bucketRegion", "bucketRegion"),
    ] {
        if let Some(v) = f.get(from) {
            config.insert(to.to_owned(), v.clone());
        }
    }
    MountView {
        id: m.id.clone(),
        kind: m.spec.kind.as_str(),
        path: "/".to_owned(),
        name,
        access_mode: "rw",
        config,
        connection_status: "connected",
        authorization_type: m.spec.authorization,
    }
}

/// The cloud provider of a region: its prefix (`aws-us-east-1` → `aws`).
pub fn provider_of(region: &str) -> &str {
    region.split('-').next().unwrap_or(region)
}

/// Checks a `--region` value: a provider prefix, a dash, and more (lowercase
/// letters, digits and dashes), e.g. `aws-us-east-1`, `gcp-us-central1`.
pub fn check_region(region: &str) -> Result<(), String> {
    let ok = region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && matches!(region.split_once('-'), Some((p, rest)) if !p.is_empty() && !rest.is_empty());
    ok.then_some(())
        .ok_or_else(|| format!("region {region:?} must look like aws-us-east-1"))
}

/// The `{"message": …}` payload deletes of sub-resources answer.
pub fn message(text: &str) -> Message {
    Message {
        message: text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(state: &mut State, account: &str) -> Ctx {
        Ctx {
            account: state.account(account),
            now_ms: 1_800_000_000_000,
        }
    }

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn new(name: &str) -> NewDisk {
        NewDisk::parse(&body(serde_json::json!({ "name": name })), 0).unwrap()
    }

    #[test]
    fn ids_are_dsk_and_16_lowercase_hex() {
        assert_eq!(
            parse_disk_id("dsk-0123456789abcdef"),
            Some(0x0123456789abcdef)
        );
        for bad in [
            "dsk-0123456789ABCDEF",
            "dsk-0123",
            "0123456789abcdef",
            "dsk-0123456789abcdeg",
            "",
        ] {
            assert_eq!(parse_disk_id(bad), None, "{bad}");
        }
        assert_eq!(format_id(0xab), "dsk-00000000000000ab");
    }

    #[test]
    fn names_follow_the_pattern_and_length() {
        assert!(check_name("a").is_ok());
        assert!(check_name(&"a".repeat(100)).is_ok());
        assert!(check_name(&"a".repeat(101)).is_err());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("é").is_err());
        assert!(check_name("A-z_09").is_ok());
    }

    #[test]
    fn create_then_same_config_is_idempotent_and_other_config_conflicts() {
        let mut state = State::new();
        let c = ctx(&mut state, "a");
        let first = create(&mut state, c, new("data")).unwrap();
        assert!(first.created);
        assert!(first.data.authorized_users[0].token.is_some());
        let again = create(&mut state, c, new("data")).unwrap();
        assert!(!again.created);
        assert_eq!(again.data.disk_id, first.data.disk_id);
        assert!(again.data.authorized_users[0].token.is_none());
        let other = NewDisk {
            allowed_ips: Some(vec!["10.0.0.1".into()]),
            ..new("data")
        };
        assert!(matches!(
            create(&mut state, c, other),
            Err(ApiError::Conflict(_))
        ));
    }

    #[test]
    fn list_clamps_and_walks_in_creation_order() {
        let mut state = State::new();
        let c = ctx(&mut state, "a");
        for i in 0..5 {
            create(&mut state, c, new(&format!("d{i}"))).unwrap();
        }
        let q = ListQuery::parse(Some("limit=2")).unwrap();
        let first = list(&state, c, &q);
        assert_eq!(first.data.len(), 2);
        let cursor = first.next_cursor.unwrap();
        let q = ListQuery::parse(Some(&format!("limit=1000&cursor={cursor}"))).unwrap();
        assert_eq!(q.limit, 100);
        let rest = list(&state, c, &q);
        let names: Vec<_> = rest.data.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["d2", "d3", "d4"]);
        assert_eq!(rest.next_cursor, None);
    }

    #[test]
    fn status_is_creating_until_ready() {
        assert_eq!(Lifecycle::ReadyAt(10).status(9), Status::Creating);
        assert_eq!(Lifecycle::ReadyAt(10).status(10), Status::Available);
        assert_eq!(Lifecycle::Pinned(Status::Failed).status(99), Status::Failed);
    }

    #[test]
    fn regions_need_a_provider_prefix() {
        assert!(check_region("aws-us-east-1").is_ok());
        assert!(check_region("gcp-us-central1").is_ok());
        assert!(check_region("aws").is_err());
        assert!(check_region("AWS-us").is_err());
        assert_eq!(provider_of("gcp-us-central1"), "gcp");
    }
}
