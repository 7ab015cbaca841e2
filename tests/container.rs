//! The container image, for real: testcontainers starts the locally built
//! `archil-mock:local` (`make image`), the token lifecycle runs through the
//! mapped port, and `docker stop` must end it cleanly with exit code 0.
//!
//! A custom harness (libtest-mimic) so that without a Docker engine or the
//! image the test is reported as *ignored, with the reason*, never as passed.
//! With `ARCHIL_MOCK_REQUIRE_DOCKER=1` (CI sets it) a missing engine or image
//! is a failure instead. `ARCHIL_MOCK_IMAGE` names another image to test.

use std::process::Command;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::{json, Value};
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::GenericImage;

const DEFAULT_IMAGE: &str = "archil-mock:local";

fn main() {
    let args = Arguments::from_args();
    let trials = vec![Trial::ignorable_test(
        "the_image_serves_the_token_lifecycle_and_exits_0_on_sigterm",
        || with_docker(token_lifecycle_in_the_container),
    )];
    libtest_mimic::run(&args, trials).exit();
}

/// Runs `test` if an engine and the image are there; otherwise ignores it
/// with the reason, or fails if Docker is required.
fn with_docker(test: impl FnOnce(&str) -> Result<(), Failed>) -> Result<Completion, Failed> {
    let image = std::env::var("ARCHIL_MOCK_IMAGE").unwrap_or_else(|_| DEFAULT_IMAGE.to_owned());
    match image_available(&image) {
        Ok(()) => test(&image).map(|()| Completion::Completed),
        Err(reason) if std::env::var("ARCHIL_MOCK_REQUIRE_DOCKER").as_deref() == Ok("1") => {
            Err(format!("ARCHIL_MOCK_REQUIRE_DOCKER=1, but {reason}").into())
        }
        Err(reason) => Ok(Completion::ignored_with(format!(
            "{reason}; start Docker and run `make image` to run this test"
        ))),
    }
}

/// Ok if the engine answers and holds the image (never pulled: it is local).
fn image_available(image: &str) -> Result<(), String> {
    let info = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map_err(|e| format!("no docker CLI ({e})"))?;
    if !info.status.success() {
        return Err(format!(
            "no Docker engine answers (DOCKER_HOST={}): {}",
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unset".into()),
            String::from_utf8_lossy(&info.stderr).trim()
        ));
    }
    let inspect = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .map_err(|e| format!("docker image inspect failed: {e}"))?;
    if !inspect.status.success() {
        return Err(format!("the engine has no image {image}"));
    }
    Ok(())
}

fn token_lifecycle_in_the_container(image: &str) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    runtime.block_on(lifecycle(image))
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(what().into())
    }
}

async fn lifecycle(image: &str) -> Result<(), Failed> {
    let (name, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
    let container = GenericImage::new(name, tag)
        .with_exposed_port(8080.tcp())
        .with_wait_for(WaitFor::message_on_stdout("archil-mock listening on"))
        .start()
        .await
        .map_err(|e| format!("cannot start {image}: {e}"))?;
    let port = container
        .get_host_port_ipv4(8080)
        .await
        .map_err(|e| format!("no mapped port for 8080: {e}"))?;
    let base = format!("http://127.0.0.1:{port}/api/tokens");
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, url: String, key: String, body: Option<Value>| {
        let mut req = client.request(method, url).header("Authorization", key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move {
            let resp = req
                .send()
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.map_err(|e| format!("not JSON: {e}"))?;
            Ok::<_, Failed>((status, body))
        }
    };
    let builtin = "key-archil-mock".to_owned();

    // Create a token with the built-in key.
    let (status, created) = call(
        reqwest::Method::POST,
        base.clone(),
        builtin.clone(),
        Some(json!({ "name": "from-testcontainers" })),
    )
    .await?;
    check(status == 201, || format!("create: {status} {created}"))?;
    let secret = created["data"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let id = created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    check(secret.starts_with("key-") && !id.is_empty(), || {
        format!("create returned no token or id: {created}")
    })?;

    // Use it: it lists itself beside the bootstrap key.
    let (status, listed) = call(reqwest::Method::GET, base.clone(), secret.clone(), None).await?;
    check(status == 200, || {
        format!("list with the new key: {status} {listed}")
    })?;
    let names: Vec<&str> = listed["data"]["tokens"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    check(names.contains(&"from-testcontainers"), || {
        format!("the new token is not listed: {listed}")
    })?;

    // Revoke it; then it is refused.
    let (status, revoked) = call(
        reqwest::Method::DELETE,
        format!("{base}/{id}"),
        builtin.clone(),
        None,
    )
    .await?;
    check(status == 200, || format!("revoke: {status} {revoked}"))?;
    let (status, refused) = call(reqwest::Method::GET, base.clone(), secret, None).await?;
    check(status == 401, || format!("revoked key: {status} {refused}"))?;
    check(refused["success"] == false, || {
        format!("no error envelope: {refused}")
    })?;

    // `docker stop` sends the image's STOPSIGNAL (SIGTERM); the server must
    // drain and exit 0 well before the 10 s grace period ends in SIGKILL.
    let stopping = Instant::now();
    container
        .stop_with_timeout(Some(10))
        .await
        .map_err(|e| format!("docker stop failed: {e}"))?;
    let took = stopping.elapsed();
    let code = container
        .exit_code()
        .await
        .map_err(|e| format!("cannot read the exit code: {e}"))?;
    let logs = container
        .stderr_to_vec()
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    check(code == Some(0), || {
        format!("exit code {code:?} after docker stop (expected 0); stderr:\n{logs}")
    })?;
    check(took < Duration::from_secs(8), || {
        format!("docker stop took {took:?}: SIGTERM was not handled")
    })?;
    check(logs.contains("draining"), || {
        format!("no drain on SIGTERM in the log:\n{logs}")
    })?;
    Ok(())
}
