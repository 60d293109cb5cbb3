//! `skiff login` and `skiff logout` against real registries (htpasswd basic
//! auth and bearer tokens): what is checked, what is stored where, and what
//! a later pull can do with it.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;

fn tools() -> bool {
    require_tools(&["docker-registry", "htpasswd", "openssl", "skopeo"]) && fixture_tools_present()
}

/// A registry with `auth` holding the busybox fixture.
fn registry_with_busybox(auth: Auth) -> Registry {
    let reg = Registry::start(auth);
    fixtures().push(&reg, "busybox");
    reg
}

/// An installation that resolves `skiff-test/...` to `reg` but has no
/// credentials for it yet.
fn logged_out(reg: &Registry) -> Skiff {
    let skiff = Skiff::new();
    skiff.use_registry(reg);
    skiff
}

fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("the auth file is JSON")
}

fn auth_entry(user: &str, pass: &str) -> String {
    STANDARD.encode(format!("{user}:{pass}"))
}

fn busybox_id() -> &'static str {
    fixtures().image("busybox").id()
}

#[test]
fn login_checks_the_password_then_stores_it_for_pull_and_logout_removes_it() {
    if !tools() {
        return;
    }
    for auth in [
        Auth::basic("alice", "s3cret"),
        Auth::token("bob", "hunter2"),
    ] {
        let reg = registry_with_busybox(auth);
        let (user, pass) = reg.auth().credentials().expect("credentials");
        let skiff = logged_out(&reg);

        let err = skiff
            .run(["login", "-u", user, "-p", "wrong", reg.addr()])
            .fails_with(125, "invalid username/password");
        assert!(
            err.contains(&format!("Error: logging into \"{}\"", reg.addr())),
            "{err}"
        );
        assert!(!err.contains("wrong"), "never print passwords: {err}");
        assert!(
            !skiff.auth_file().exists(),
            "nothing stored after a refused login"
        );

        let out = skiff
            .run(["login", "-u", user, "-p", pass, reg.addr()])
            .ok();
        assert_eq!(out, "Login Succeeded!\n");
        let mode = std::fs::metadata(skiff.auth_file())
            .expect("auth file written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the auth file is private");
        let json = read_json(&skiff.auth_file());
        assert_eq!(json["auths"][reg.addr()]["auth"], auth_entry(user, pass));

        let out = skiff.run(["pull", "-q", "skiff-test/busybox"]).ok();
        assert_eq!(out.trim(), busybox_id());
        let out = skiff.run(["login", "--get-login", reg.addr()]).ok();
        assert_eq!(out, format!("{user}\n"));

        let out = skiff.run(["logout", reg.addr()]).ok();
        assert_eq!(
            out,
            format!("Removed login credentials for {}\n", reg.addr())
        );
        assert_eq!(
            read_json(&skiff.auth_file())["auths"],
            serde_json::json!({})
        );
        skiff.run(["rmi", "skiff-test/busybox"]).ok();
        skiff
            .run(["pull", "skiff-test/busybox"])
            .fails_with(125, "access denied");
        skiff
            .run(["login", "--get-login", reg.addr()])
            .fails_with(125, &format!("Error: not logged into {}", reg.addr()));
        skiff
            .run(["logout", reg.addr()])
            .fails_with(125, &format!("Error: not logged into {}", reg.addr()));
    }
}

#[test]
fn stored_credentials_are_reused_and_a_namespace_can_have_its_own() {
    if !tools() {
        return;
    }
    let reg = registry_with_busybox(Auth::token("bob", "hunter2"));
    let skiff = logged_out(&reg);
    let namespace = format!("{}/skiff-test", reg.addr());

    let out = skiff
        .cmd(["login", "-v", "-u", "bob", "--password-stdin", &namespace])
        .stdin("hunter2\n")
        .run()
        .ok();
    assert_eq!(
        out,
        format!("Used: {}\nLogin Succeeded!\n", skiff.auth_file().display())
    );
    let json = read_json(&skiff.auth_file());
    assert_eq!(
        json["auths"][&namespace]["auth"],
        auth_entry("bob", "hunter2")
    );
    assert!(json["auths"].get(reg.addr()).is_none(), "{json}");

    // The namespace's credentials serve its repositories, not the registry.
    let out = skiff.run(["pull", "-q", "skiff-test/busybox"]).ok();
    assert_eq!(out.trim(), busybox_id());
    let out = skiff
        .run(["login", "--get-login", &format!("{namespace}/busybox")])
        .ok();
    assert_eq!(out, "bob\n");
    skiff
        .run(["login", "--get-login", reg.addr()])
        .fails_with(125, "not logged into");

    // Neither user nor password: the stored credentials are checked again.
    let out = skiff.run(["login", &namespace]).ok();
    assert!(
        out.contains(&format!(
            "Authenticating with existing credentials for {namespace}"
        )) && out.contains("Already logged in"),
        "{out}"
    );

    // A URL stands for its host; no password and no terminal is an error.
    let err = skiff
        .run(["login", "-u", "bob", &format!("http://{}/v2/", reg.addr())])
        .fails_with(125, "not a terminal");
    assert!(err.contains("reading password"), "{err}");
    skiff
        .run(["logout", &format!("https://{}/v1/", reg.addr())])
        .fails_with(125, &format!("not logged into {}", reg.addr()));
    let out = skiff.run(["logout", &namespace]).ok();
    assert_eq!(out, format!("Removed login credentials for {namespace}\n"));
}

#[test]
fn logout_all_empties_the_auth_file() {
    if !tools() {
        return;
    }
    let basic = Registry::start(Auth::basic("alice", "s3cret"));
    let token = Registry::start(Auth::token("bob", "hunter2"));
    let skiff = Skiff::new();
    skiff.use_registry(&basic);
    skiff.use_registry(&token);

    // An auth file named explicitly must exist for logout.
    skiff
        .run(["logout", "--all"])
        .fails_with(125, "credential file is not accessible");
    skiff
        .run(["logout", basic.addr()])
        .fails_with(125, "credential file is not accessible");

    // Without a registry, login uses the first search registry.
    skiff.run(["login", "-u", "alice", "-p", "s3cret"]).ok();
    skiff
        .run(["login", "-u", "bob", "-p", "hunter2", token.addr()])
        .ok();
    let json = read_json(&skiff.auth_file());
    assert_eq!(
        json["auths"].as_object().map(|a| a.len()),
        Some(2),
        "{json}"
    );

    skiff
        .run(["logout", "--all", basic.addr()])
        .fails_with(125, "--all takes no arguments");
    let out = skiff.run(["logout", "--all"]).ok();
    assert_eq!(out, "Removed login credentials for all registries\n");
    assert_eq!(
        read_json(&skiff.auth_file())["auths"],
        serde_json::json!({})
    );
    for reg in [&basic, &token] {
        skiff
            .run(["login", "--get-login", reg.addr()])
            .fails_with(125, "not logged into");
    }
}

#[test]
fn login_with_authfile_writes_that_file_only() {
    if !tools() {
        return;
    }
    let reg = Registry::start(Auth::basic("alice", "s3cret"));
    let skiff = logged_out(&reg);
    let other = skiff.dir().join("elsewhere/auth.json");
    let path = other.to_str().expect("UTF-8 path");
    let out = skiff
        .run([
            "login",
            "--authfile",
            path,
            "-u",
            "alice",
            "-p",
            "s3cret",
            reg.addr(),
        ])
        .ok();
    assert_eq!(out, "Login Succeeded!\n");
    assert!(!skiff.auth_file().exists());
    assert_eq!(
        read_json(&other)["auths"][reg.addr()]["auth"],
        auth_entry("alice", "s3cret")
    );
    let out = skiff
        .run(["login", "--authfile", path, "--get-login", reg.addr()])
        .ok();
    assert_eq!(out, "alice\n");
    skiff.run(["logout", "--authfile", path, reg.addr()]).ok();
    assert_eq!(read_json(&other)["auths"], serde_json::json!({}));
}

#[test]
fn docker_config_credentials_work_for_pull_and_are_not_logged_out() {
    if !tools() {
        return;
    }
    let reg = registry_with_busybox(Auth::basic("alice", "s3cret"));
    let skiff = logged_out(&reg);
    let docker_dir = skiff.dir().join("docker");
    std::fs::create_dir(&docker_dir).expect("create DOCKER_CONFIG");
    let config = docker_dir.join("config.json");
    // As docker writes it: a URL key, and a credential helper skiff ignores.
    let text = serde_json::json!({
        "auths": {
            format!("https://{}/v1/", reg.addr()): {"auth": auth_entry("alice", "s3cret")}
        },
        "credsStore": "desktop"
    })
    .to_string();
    std::fs::write(&config, &text).expect("write config.json");
    let docker = |args: &[&str]| {
        skiff
            .cmd(args)
            .env_remove("REGISTRY_AUTH_FILE")
            .env("DOCKER_CONFIG", &docker_dir)
            .run()
    };

    let out = docker(&["pull", "-q", "skiff-test/busybox"]).ok();
    assert_eq!(out.trim(), busybox_id());
    let out = docker(&["login", "--get-login", reg.addr()]).ok();
    assert_eq!(out, "alice\n");

    // logout leaves docker's file to docker.
    let out = docker(&["logout", reg.addr()]).ok();
    assert!(
        out.starts_with(&format!("Not logged into {} with skiff", reg.addr()))
            && out.contains(&config.display().to_string()),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&config).expect("config.json"), text);

    // login writes skiff's own file, under XDG_RUNTIME_DIR.
    docker(&["login", "-u", "alice", "-p", "s3cret", reg.addr()]).ok();
    let runtime_auth = skiff.dir().join("xdg-run/containers/auth.json");
    assert_eq!(
        read_json(&runtime_auth)["auths"][reg.addr()]["auth"],
        auth_entry("alice", "s3cret")
    );
    let out = docker(&["logout", reg.addr()]).ok();
    assert_eq!(
        out,
        format!("Removed login credentials for {}\n", reg.addr())
    );
    assert_eq!(std::fs::read_to_string(&config).expect("config.json"), text);
}

/// What a run on a pseudo-terminal showed: stdout, stderr, everything the
/// terminal displayed (its echo), the exit code, and whether echo was back
/// on at the end.
struct TtyRun {
    stdout: String,
    stderr: String,
    screen: String,
    code: Option<i32>,
    echo_restored: bool,
}

/// Run `skiff ARGS` with a pseudo-terminal as stdin, typing each answer
/// once stdout shows its prompt.
fn run_on_tty(skiff: &Skiff, args: &[&str], answers: &[(&str, &[u8])]) -> TtyRun {
    use nix::sys::termios::{tcgetattr, LocalFlags};
    let pty = nix::pty::openpty(None, None).expect("open a pseudo-terminal");
    let home = skiff.home();
    let mut child = std::process::Command::new(Skiff::bin())
        .arg("--root")
        .arg(skiff.root())
        .arg("--runroot")
        .arg(skiff.runroot())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_RUNTIME_DIR", skiff.dir().join("xdg-run"))
        .env("REGISTRY_AUTH_FILE", skiff.auth_file())
        .env("CONTAINERS_REGISTRIES_CONF", skiff.registries_conf())
        .current_dir(skiff.dir())
        .stdin(Stdio::from(pty.slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start skiff");
    let mut master = std::fs::File::from(pty.master);

    // Everything the terminal shows, until the last slave closes (EIO).
    let mut screen_reader = master.try_clone().expect("dup the terminal");
    let screen = std::thread::spawn(move || {
        let mut shown = Vec::new();
        let mut buf = [0u8; 256];
        while let Ok(n) = screen_reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            shown.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&shown).into_owned()
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (tx, rx) = mpsc::channel();
    let mut stdout = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let wait_for = |text: &str, seen: &mut Vec<u8>| {
        while !String::from_utf8_lossy(seen).contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => seen.extend(chunk),
                Err(_) => panic!(
                    "no {text:?} prompt; stdout so far: {:?}",
                    String::from_utf8_lossy(seen)
                ),
            }
        }
    };
    for (prompt, answer) in answers {
        wait_for(prompt, &mut seen);
        master.write_all(answer).expect("type on the terminal");
    }
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for skiff") {
            break status;
        }
        assert!(Instant::now() < deadline, "skiff did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    while let Ok(chunk) = rx.recv_timeout(Duration::from_secs(5)) {
        seen.extend(chunk);
    }
    let echo_restored = tcgetattr(&master)
        .map(|t| t.local_flags.contains(LocalFlags::ECHO))
        .unwrap_or(false);
    drop(master);
    TtyRun {
        stdout: String::from_utf8_lossy(&seen).into_owned(),
        stderr: stderr.join().expect("stderr reader"),
        screen: screen.join().expect("terminal reader"),
        code: status.code(),
        echo_restored,
    }
}

#[test]
fn on_a_terminal_login_prompts_and_hides_the_password() {
    if !tools() {
        return;
    }
    let reg = Registry::start(Auth::basic("alice", "s3cret"));
    let skiff = logged_out(&reg);

    let run = run_on_tty(
        &skiff,
        &["login", reg.addr()],
        &[("Username: ", b"alice\n"), ("Password: ", b"s3cret\n")],
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.ends_with("Login Succeeded!\n"), "{}", run.stdout);
    assert!(run.screen.contains("alice"), "the user name is echoed");
    assert!(!run.screen.contains("s3cret"), "echoed: {:?}", run.screen);
    assert!(run.echo_restored);
    assert_eq!(
        read_json(&skiff.auth_file())["auths"][reg.addr()]["auth"],
        auth_entry("alice", "s3cret")
    );

    // A wrong password typed on the terminal (with corrections) stores
    // nothing.
    skiff.run(["logout", reg.addr()]).ok();
    let run = run_on_tty(
        &skiff,
        &["login", "-u", "alice", reg.addr()],
        &[("Password: ", b"nope\x7f\x7f\x7f\x7fwrong\n")],
    );
    assert_eq!(run.code, Some(125));
    assert!(
        run.stderr.contains("invalid username/password"),
        "{}",
        run.stderr
    );
    assert!(!run.screen.contains("wrong"), "echoed: {:?}", run.screen);
    assert_eq!(
        read_json(&skiff.auth_file())["auths"],
        serde_json::json!({})
    );

    // Ctrl-C at the password prompt gives the terminal back as it was.
    let run = run_on_tty(
        &skiff,
        &["login", "-u", "alice", reg.addr()],
        &[("Password: ", b"s3\x03")],
    );
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
    assert!(run.echo_restored);
    assert_eq!(
        read_json(&skiff.auth_file())["auths"],
        serde_json::json!({})
    );
}
