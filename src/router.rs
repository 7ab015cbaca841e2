//! The one route table: every path the server answers, on one screen. It
//! decides 404 against 405 and pulls path parameters out, so no handler ever
//! parses a path. It knows nothing of state, auth or faults.

use hyper::Method;

use crate::error::ApiError;

/// Every operation the server knows, with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /api/tokens` (listApiTokens).
    ListTokens,
    /// `POST /api/tokens` (createApiToken).
    CreateToken,
    /// `DELETE /api/tokens/{id}` (deleteApiToken).
    DeleteToken(String),
    /// `GET /api/disks` (listDisks).
    ListDisks,
    /// `POST /api/disks` (createDisk).
    CreateDisk,
    /// `GET /api/disks/{id}` (getDisk).
    GetDisk(String),
    /// `DELETE /api/disks/{id}` (deleteDisk).
    DeleteDisk(String),
    /// `POST /api/disks/{id}/users` (addDiskUser).
    AddDiskUser(String),
    /// `DELETE /api/disks/{id}/users/{userType}` (removeDiskUser).
    RemoveDiskUser(String, String),
    /// `GET /api/disks/{id}/allowed-ips` (getAllowedIPs).
    GetAllowedIps(String),
    /// `PUT /api/disks/{id}/allowed-ips` (setAllowedIPs).
    SetAllowedIps(String),
    /// `GET /api/disks/{id}/delegations` (listDelegations).
    ListDelegations(String),
    /// `POST /api/disks/{id}/revoke-delegation` (revokeDelegation).
    RevokeDelegation(String),
    /// `POST /api/disks/{id}/share` (createShareUrl).
    ShareObject(String),
    /// `POST /api/disks/{id}/grep` (grepDisk).
    GrepDisk(String),
    /// `POST /api/disks/{id}/exec` (execDisk).
    ExecDisk(String),
    /// `POST /api/exec` (exec, several disks).
    Exec,
    /// `GET /api/disks/{id}/branches` (listBranches).
    ListBranches(String),
    /// `GET /api/disks/{id}/branches/{name}` (getBranch); the name percent-decoded.
    GetBranch(String, String),
    /// `POST /api/disks/{id}/branches` (createBranch).
    CreateBranch(String),
    /// An admin operation under `/_mock/`; these skip faults and auth.
    Admin(AdminRoute),
}

/// The admin operations under `/_mock/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRoute {
    /// `GET /_mock/health`.
    Health,
    /// `POST /_mock/reset`.
    Reset,
    /// `GET /_mock/faults`.
    ListFaults,
    /// `POST /_mock/faults`.
    AddFaults,
    /// `DELETE /_mock/faults`.
    ClearFaults,
    /// `DELETE /_mock/faults/{id}`.
    RemoveFault(String),
    /// `GET /_mock/requests`.
    ListRequests,
    /// `DELETE /_mock/requests`.
    ClearRequests,
    /// `GET /_mock/exec-rules`.
    ListExecRules,
    /// `POST /_mock/exec-rules`.
    AddExecRules,
    /// `DELETE /_mock/exec-rules`.
    ClearExecRules,
    /// `DELETE /_mock/exec-rules/{id}`.
    RemoveExecRule(String),
    /// `GET /_mock/state`.
    State,
}

impl Route {
    /// Whether a success changes the stored state (and so the state file).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Route::CreateToken
                | Route::DeleteToken(_)
                | Route::CreateDisk
                | Route::DeleteDisk(_)
                | Route::AddDiskUser(_)
                | Route::RemoveDiskUser(..)
                | Route::SetAllowedIps(_)
                | Route::RevokeDelegation(_)
                | Route::CreateBranch(_)
        )
    }
}

/// The prefix of every admin path.
pub const ADMIN_PREFIX: &str = "/_mock/";

/// Maps a method and a path (without the query) to a route.
///
/// A path that no route has is a 404; a path that exists with other methods is
/// a 405 naming them.
pub fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    use AdminRoute as A;
    use Method as M;
    let segments: Vec<&str> = match path.strip_prefix('/') {
        Some(rest) => rest.split('/').collect(),
        None => return Err(not_found(path)),
    };
    let (allow, found): (&'static str, Option<Route>) = match segments.as_slice() {
        ["api", "tokens"] => (
            "GET, POST",
            match *method {
                M::GET => Some(Route::ListTokens),
                M::POST => Some(Route::CreateToken),
                _ => None,
            },
        ),
        ["api", "tokens", id] if !id.is_empty() => (
            "DELETE",
            (method == M::DELETE).then(|| Route::DeleteToken((*id).to_owned())),
        ),
        ["api", "disks"] => (
            "GET, POST",
            match *method {
                M::GET => Some(Route::ListDisks),
                M::POST => Some(Route::CreateDisk),
                _ => None,
            },
        ),
        ["api", "disks", id] if !id.is_empty() => (
            "GET, DELETE",
            match *method {
                M::GET => Some(Route::GetDisk(id.to_string())),
                M::DELETE => Some(Route::DeleteDisk(id.to_string())),
                _ => None,
            },
        ),
        ["api", "disks", id, "users"] if !id.is_empty() => (
            "POST",
            (method == M::POST).then(|| Route::AddDiskUser(id.to_string())),
        ),
        ["api", "disks", id, "users", kind] if !id.is_empty() && !kind.is_empty() => (
            "DELETE",
            (method == M::DELETE).then(|| Route::RemoveDiskUser(id.to_string(), kind.to_string())),
        ),
        ["api", "disks", id, "allowed-ips"] if !id.is_empty() => (
            "GET, PUT",
            match *method {
                M::GET => Some(Route::GetAllowedIps(id.to_string())),
                M::PUT => Some(Route::SetAllowedIps(id.to_string())),
                _ => None,
            },
        ),
        ["api", "disks", id, "delegations"] if !id.is_empty() => (
            "GET",
            (method == M::GET).then(|| Route::ListDelegations(id.to_string())),
        ),
        ["api", "disks", id, "revoke-delegation"] if !id.is_empty() => (
            "POST",
            (method == M::POST).then(|| Route::RevokeDelegation(id.to_string())),
        ),
        ["api", "exec"] => ("POST", (method == M::POST).then_some(Route::Exec)),
        ["api", "disks", id, "exec"] if !id.is_empty() => (
            "POST",
            (method == M::POST).then(|| Route::ExecDisk(id.to_string())),
        ),
        ["api", "disks", id, "grep"] if !id.is_empty() => (
            "POST",
            (method == M::POST).then(|| Route::GrepDisk(id.to_string())),
        ),
        ["api", "disks", id, "share"] if !id.is_empty() => (
            "POST",
            (method == M::POST).then(|| Route::ShareObject(id.to_string())),
        ),
        ["api", "disks", id, "branches"] if !id.is_empty() => (
            "GET, POST",
            match *method {
                M::GET => Some(Route::ListBranches(id.to_string())),
                M::POST => Some(Route::CreateBranch(id.to_string())),
                _ => None,
            },
        ),
        ["api", "disks", id, "branches", name] if !id.is_empty() && !name.is_empty() => (
            "GET",
            (method == M::GET).then(|| Route::GetBranch(id.to_string(), decode_segment(name))),
        ),
        ["_mock", "health"] => ("GET", (method == M::GET).then_some(Route::Admin(A::Health))),
        ["_mock", "reset"] => (
            "POST",
            (method == M::POST).then_some(Route::Admin(A::Reset)),
        ),
        ["_mock", "state"] => ("GET", (method == M::GET).then_some(Route::Admin(A::State))),
        ["_mock", "faults"] => (
            "GET, POST, DELETE",
            match *method {
                M::GET => Some(Route::Admin(A::ListFaults)),
                M::POST => Some(Route::Admin(A::AddFaults)),
                M::DELETE => Some(Route::Admin(A::ClearFaults)),
                _ => None,
            },
        ),
        ["_mock", "faults", id] if !id.is_empty() => (
            "DELETE",
            (method == M::DELETE).then(|| Route::Admin(A::RemoveFault((*id).to_owned()))),
        ),
        ["_mock", "exec-rules"] => (
            "GET, POST, DELETE",
            match *method {
                M::GET => Some(Route::Admin(A::ListExecRules)),
                M::POST => Some(Route::Admin(A::AddExecRules)),
                M::DELETE => Some(Route::Admin(A::ClearExecRules)),
                _ => None,
            },
        ),
        ["_mock", "exec-rules", id] if !id.is_empty() => (
            "DELETE",
            (method == M::DELETE).then(|| Route::Admin(A::RemoveExecRule((*id).to_owned()))),
        ),
        ["_mock", "requests"] => (
            "GET, DELETE",
            match *method {
                M::GET => Some(Route::Admin(A::ListRequests)),
                M::DELETE => Some(Route::Admin(A::ClearRequests)),
                _ => None,
            },
        ),
        _ => return Err(not_found(path)),
    };
    found.ok_or(ApiError::MethodNotAllowed { allow })
}

/// A path segment, percent-decoded once (the SDK quotes branch names with
/// `safe=''`); bytes that are not UTF-8 become U+FFFD, which no valid name has.
fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn not_found(path: &str) -> ApiError {
    // Echo at most a short prefix: the path is client input and may be huge.
    let shown: String = path.chars().take(200).collect();
    ApiError::NotFound(format!("no route for path {shown}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_routes_resolve() {
        assert_eq!(route(&Method::GET, "/api/tokens"), Ok(Route::ListTokens));
        assert_eq!(route(&Method::POST, "/api/tokens"), Ok(Route::CreateToken));
        assert_eq!(
            route(&Method::DELETE, "/api/tokens/abc"),
            Ok(Route::DeleteToken("abc".into()))
        );
    }

    #[test]
    fn wrong_method_is_405_with_the_allowed_methods() {
        assert_eq!(
            route(&Method::PUT, "/api/tokens"),
            Err(ApiError::MethodNotAllowed { allow: "GET, POST" })
        );
        assert_eq!(
            route(&Method::GET, "/api/tokens/abc"),
            Err(ApiError::MethodNotAllowed { allow: "DELETE" })
        );
    }

    #[test]
    fn near_misses_are_404() {
        for path in [
            "/api/tokens/",
            "//api/tokens",
            "/api/tokens/a/b",
            "/api/token",
            "/",
            "",
            "api/tokens",
            "/_mock/",
            "/api/tokens/../tokens",
        ] {
            let result = route(&Method::GET, path);
            assert!(
                matches!(result, Err(ApiError::NotFound(_))),
                "{path:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn disk_routes_resolve_with_their_parameters() {
        let id = "dsk-0123456789abcdef";
        assert_eq!(route(&Method::GET, "/api/disks"), Ok(Route::ListDisks));
        assert_eq!(
            route(&Method::DELETE, &format!("/api/disks/{id}/users/token")),
            Ok(Route::RemoveDiskUser(id.into(), "token".into()))
        );
        assert_eq!(
            route(&Method::GET, &format!("/api/disks/{id}/branches/a%2Fb%20c")),
            Ok(Route::GetBranch(id.into(), "a/b c".into()))
        );
        assert_eq!(
            route(&Method::DELETE, &format!("/api/disks/{id}/allowed-ips")),
            Err(ApiError::MethodNotAllowed { allow: "GET, PUT" })
        );
        assert!(matches!(
            route(&Method::GET, &format!("/api/disks/{id}/nope")),
            Err(ApiError::NotFound(_))
        ));
    }

    #[test]
    fn admin_routes_resolve() {
        assert_eq!(
            route(&Method::GET, "/_mock/health"),
            Ok(Route::Admin(AdminRoute::Health))
        );
        assert_eq!(
            route(&Method::DELETE, "/_mock/faults/f-1"),
            Ok(Route::Admin(AdminRoute::RemoveFault("f-1".into())))
        );
        assert_eq!(
            route(&Method::POST, "/_mock/requests"),
            Err(ApiError::MethodNotAllowed {
                allow: "GET, DELETE"
            })
        );
    }
}
