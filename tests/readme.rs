//! README.md stays true: every `curl` in its `sh` blocks runs against a fresh
//! `archil-mock` (started with the block's `archil-mock …` line, if any, on
//! a free port), and the comment after it says what it must answer:
//!
//! - `# 201`: the status;
//! - `# 200, has `"status":"failed"``: and the body contains that text;
//! - `# 200 after 1 s`: and the answer took at least that long;
//! - `# dropped`: the connection closed with no response.
//!
//! A `curl` without such a comment fails the test, so a new recipe cannot
//! go unchecked.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One shell command and what it must answer.
#[derive(Debug)]
struct Recipe {
    line: usize,
    command: String,
    expect: Expect,
}

#[derive(Debug, PartialEq)]
enum Expect {
    Status {
        status: u16,
        has: Vec<String>,
        after: Option<Duration>,
    },
    Dropped,
}

#[derive(Debug)]
struct Block {
    line: usize,
    server_args: Vec<String>,
    recipes: Vec<Recipe>,
}

fn parse_expect(comment: &str, line: usize) -> Expect {
    let comment = comment.trim();
    if comment == "dropped" {
        return Expect::Dropped;
    }
    let digits: String = comment.chars().take_while(char::is_ascii_digit).collect();
    let status = digits
        .parse()
        .unwrap_or_else(|_| panic!("README.md:{line}: `# {comment}` does not start with a status"));
    let has = comment
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    let after = comment.split(" after ").nth(1).map(|rest| {
        let secs: f64 = rest
            .trim_end_matches(" s")
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("README.md:{line}: bad `after` in `# {comment}`"));
        Duration::from_secs_f64(secs)
    });
    Expect::Status { status, has, after }
}

/// The `sh` blocks that hold a `curl`, with their commands joined across `\`.
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((start, line)) = lines.next() {
        if line.trim() != "```sh" {
            continue;
        }
        let mut block = Block {
            line: start,
            server_args: Vec::new(),
            recipes: Vec::new(),
        };
        let mut pending: Option<(usize, String)> = None;
        for (n, line) in lines.by_ref() {
            if line.trim_start().starts_with("```") {
                break;
            }
            let (at, mut joined) = match pending.take() {
                Some((at, so_far)) => (at, so_far + " " + line.trim()),
                None => (n, line.trim().to_owned()),
            };
            if joined.ends_with('\\') {
                joined.pop();
                pending = Some((at, joined.trim_end().to_owned()));
                continue;
            }
            if let Some(args) = joined.strip_prefix("archil-mock ") {
                block.server_args = args
                    .trim_end_matches('&')
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
            } else if joined.starts_with("curl ") {
                let (command, comment) = joined
                    .rsplit_once("  #")
                    .or_else(|| joined.rsplit_once(" # "))
                    .unwrap_or_else(|| {
                        panic!("README.md:{at}: this curl has no `# <status>` comment")
                    });
                block.recipes.push(Recipe {
                    line: at,
                    command: command.trim().to_owned(),
                    expect: parse_expect(comment, at),
                });
            }
        }
        if !block.recipes.is_empty() {
            out.push(block);
        }
    }
    out
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[String]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_archil-mock"))
        .args(args)
        .args(["--port", "0", "--quiet"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port = first
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in {first:?} (args {args:?})"));
    Server { child, port }
}

fn run(recipe: &Recipe, port: u16) -> Result<(), String> {
    let command = recipe
        .command
        .replace("http://127.0.0.1:8080", &format!("http://127.0.0.1:{port}"))
        .replace("localhost:8080", &format!("127.0.0.1:{port}"));
    let started = Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{command} -w '\\n%{{http_code}}'"))
        .output()
        .map_err(|e| format!("cannot run bash: {e}"))?;
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (body, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    match &recipe.expect {
        Expect::Dropped => {
            // curl's 52: "empty reply from server".
            if out.status.code() == Some(52) && code == "000" {
                Ok(())
            } else {
                Err(format!("expected a dropped connection, got {code} {body}"))
            }
        }
        Expect::Status { status, has, after } => {
            if code != status.to_string() {
                return Err(format!("expected {status}, got {code} {body}"));
            }
            if let Some(missing) = has.iter().find(|t| !body.contains(t.as_str())) {
                return Err(format!("body lacks {missing:?}: {body}"));
            }
            if let Some(min) = after {
                if elapsed < *min {
                    return Err(format!("answered after {elapsed:?}, before {min:?}"));
                }
            }
            Ok(())
        }
    }
}

#[test]
fn every_curl_in_the_readme_answers_as_its_comment_says() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let blocks = blocks(&std::fs::read_to_string(readme).unwrap());
    let recipes: usize = blocks.iter().map(|b| b.recipes.len()).sum();
    assert!(
        recipes >= 25,
        "only {recipes} curl recipes found: {blocks:#?}"
    );
    let mut failures = Vec::new();
    for block in &blocks {
        let server = start(&block.server_args);
        for recipe in &block.recipes {
            if let Err(why) = run(recipe, server.port) {
                failures.push(format!(
                    "README.md:{} (block at {}): {}\n    {why}",
                    recipe.line, block.line, recipe.command
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_parser_reads_statuses_texts_delays_and_drops() {
    assert_eq!(
        parse_expect(" 200, has `\"a\":1` and `b`", 1),
        Expect::Status {
            status: 200,
            has: vec!["\"a\":1".into(), "b".into()],
            after: None
        }
    );
    assert_eq!(
        parse_expect("200 after 0.5 s", 1),
        Expect::Status {
            status: 200,
            has: vec![],
            after: Some(Duration::from_millis(500))
        }
    );
    assert_eq!(parse_expect("dropped", 1), Expect::Dropped);
    let parsed = blocks("```sh\narchil-mock --seed 1 &\ncurl -s x \\\n  -d y  # 201\n```\n");
    assert_eq!(parsed[0].server_args, ["--seed", "1"]);
    assert_eq!(parsed[0].recipes[0].command, "curl -s x -d y");
}
