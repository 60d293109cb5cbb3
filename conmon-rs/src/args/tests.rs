//! Unit tests of the command line parser.

use super::*;

fn run(args: &[&str]) -> Result<Options, ArgsError> {
    match parse(args.iter().map(OsString::from), Path::new("/work"))? {
        Command::Run(o) => Ok(*o),
        other => panic!("expected a run, got {other:?}"),
    }
}

const BASE: &[&str] = &[
    "-c",
    "abc",
    "-u",
    "uuid",
    "-r",
    "/bin/true",
    "-l",
    "k8s-file:/l/ctr.log",
];

fn with(extra: &[&str]) -> Result<Options, ArgsError> {
    let mut v = BASE.to_vec();
    v.extend_from_slice(extra);
    run(&v)
}

#[test]
fn podman_command_line() {
    let o = run(&[
        "--api-version",
        "1",
        "-s",
        "-c",
        "ctr1",
        "-u",
        "ctr1",
        "-r",
        "/usr/bin/runc",
        "-b",
        "/b",
        "-p",
        "/b/pidfile",
        "-n",
        "web",
        "--exit-dir",
        "/run/exits",
        "--full-attach",
        "-l",
        "k8s-file:/b/ctr.log",
        "--log-level",
        "debug",
        "--syslog",
        "--runtime-arg",
        "--log-format=json",
        "--runtime-arg",
        "--log",
        "--runtime-arg=/b/oci-log",
        "--conmon-pidfile",
        "/b/conmon.pid",
        "--exit-command",
        "/usr/bin/podman",
        "--exit-command-arg",
        "--root",
        "--exit-command-arg",
        "/var/lib/containers",
        "-t",
        "--socket-dir-path",
        "/run/socks",
        "--log-size-max",
        "1000",
        "-0",
        "/persist",
    ])
    .expect("valid");
    assert_eq!(o.api_version, 1);
    assert!(o.systemd_cgroup && o.terminal && o.syslog && o.full_attach);
    assert_eq!(o.cid, "ctr1");
    assert_eq!(o.runtime, Path::new("/usr/bin/runc"));
    assert_eq!(o.bundle.as_deref(), Some(Path::new("/b")));
    assert_eq!(o.container_pidfile, Path::new("/b/pidfile"));
    assert_eq!(o.runtime_args, ["--log-format=json", "--log", "/b/oci-log"]);
    assert_eq!(o.exit_args, ["--root", "/var/lib/containers"]);
    assert_eq!(o.log_drivers, [LogDriver::K8sFile("/b/ctr.log".into())]);
    assert_eq!(o.log_size_max, Some(1000));
    assert_eq!(o.log_level, Level::Debug);
    assert_eq!(o.persist_dir.as_deref(), Some(Path::new("/persist")));
    assert_eq!(o.socket_dir.as_deref(), Some(Path::new("/run/socks")));
}

#[test]
fn defaults_follow_conmon() {
    let o = with(&[]).expect("valid");
    assert_eq!(o.api_version, 0);
    assert_eq!(o.bundle.as_deref(), Some(Path::new("/work")));
    assert_eq!(o.container_pidfile, Path::new("/work/pidfile-abc"));
    assert_eq!(o.log_size_max, None);
    assert_eq!(o.log_level, Level::Warn);
    assert_eq!(o.log_max_files, 1);
    assert!(!o.sync && !o.terminal && !o.stdin);
}

#[test]
fn api_version_is_a_flag_that_may_take_a_number() {
    assert_eq!(with(&["--api-version"]).expect("valid").api_version, 1);
    assert_eq!(with(&["--api-version", "2"]).expect("valid").api_version, 2);
    assert_eq!(with(&["--api-version=3"]).expect("valid").api_version, 3);
    // Not followed by a number: the next argument is an option again.
    let o = run(&[
        "--api-version",
        "-c",
        "x",
        "-u",
        "u",
        "-r",
        "/r",
        "-l",
        "none",
    ])
    .expect("valid");
    assert_eq!((o.api_version, o.cid.as_os_str()), (1, OsStr::new("x")));
}

#[test]
fn short_forms_group_and_attach_values() {
    let o = run(&["-ti", "-cabc", "-u", "u", "-r/r", "-lnone", "-T", "5"]).expect("valid");
    assert!(o.terminal && o.stdin);
    assert_eq!(o.cid, "abc");
    assert_eq!(o.runtime, Path::new("/r"));
    assert_eq!(o.timeout, 5);
    let o = with(&["-sec/x", "--exec-process-spec", "/p.json"]).expect("valid");
    assert!(o.systemd_cgroup && o.exec);
    assert_eq!(
        o.cid, "/x",
        "a value-taking short option takes the rest of the group"
    );
}

#[test]
fn unknown_and_malformed_options_are_errors() {
    assert_eq!(
        with(&["--bogus"]),
        Err(ArgsError::Unknown("--bogus".into()))
    );
    assert_eq!(with(&["-Z"]), Err(ArgsError::Unknown("-Z".into())));
    assert_eq!(
        with(&["--cid"]),
        Err(ArgsError::MissingValue("--cid".into()))
    );
    assert_eq!(
        with(&["--sync=yes"]),
        Err(ArgsError::UnexpectedValue("--sync".into()))
    );
    assert_eq!(with(&["stray"]), Err(ArgsError::Positional("stray".into())));
    assert!(matches!(
        with(&["--log-size-max", "lots"]),
        Err(ArgsError::BadValue { .. })
    ));
    assert!(matches!(
        with(&["--sdnotify-socket", "/x"]),
        Err(ArgsError::Invalid(_))
    ));
    assert!(matches!(
        with(&["--log-level", "loud"]),
        Err(ArgsError::BadValue { .. })
    ));
}

#[test]
fn consistency_rules() {
    let err = |args: &[&str]| match run(args) {
        Err(ArgsError::Invalid(m)) => m,
        other => panic!("expected an error, got {other:?}"),
    };
    assert!(err(&["-u", "u", "-r", "/r", "-l", "none"]).contains("--cid"));
    assert!(err(&["-c", "c", "-r", "/r", "-l", "none"]).contains("--cuuid"));
    assert!(err(&["-c", "c", "-u", "u", "-l", "none"]).contains("--runtime"));
    assert!(err(&["-c", "c", "-u", "u", "-r", "/r"]).contains("--log-path"));
    assert!(err(&["-c", "c", "-u", "u", "-r", "/r", "-l", "none", "-e"])
        .contains("--exec-process-spec"));
    assert!(err(&[
        "-c",
        "c",
        "-u",
        "u",
        "-r",
        "/r",
        "-l",
        "none",
        "--exec-attach"
    ])
    .contains("--exec"));
    assert!(err(&[
        "-c",
        "c",
        "-u",
        "u",
        "-r",
        "/r",
        "-l",
        "none",
        "--exit-delay",
        "-1"
    ])
    .contains("exit-delay"));
    assert!(err(&[
        "-c",
        "c",
        "-u",
        "u",
        "-r",
        "/r",
        "-l",
        "/x.log",
        "--log-tag",
        "t"
    ])
    .contains("log-tag"));
    // Legacy exec needs no UUID and no bundle.
    let o = run(&[
        "-c",
        "c",
        "-r",
        "/r",
        "-l",
        "none",
        "-e",
        "--exec-process-spec",
        "/p",
    ])
    .expect("valid");
    assert_eq!((o.cuuid, o.bundle), (None, None));
}

#[test]
fn log_paths() {
    let p = |s: &str| parse_log_path(OsStr::new(s));
    assert_eq!(
        p("k8s-file:/a/b.log"),
        Ok(LogDriver::K8sFile("/a/b.log".into()))
    );
    assert_eq!(p("/a/b.log"), Ok(LogDriver::K8sFile("/a/b.log".into())));
    assert_eq!(p(":/a/b.log"), Ok(LogDriver::K8sFile("/a/b.log".into())));
    assert_eq!(
        p("k8s-file:/a:b.log"),
        Ok(LogDriver::K8sFile("/a:b.log".into()))
    );
    assert_eq!(p("passthrough"), Ok(LogDriver::Passthrough));
    assert_eq!(p("none"), Ok(LogDriver::None));
    assert_eq!(p("off"), Ok(LogDriver::None));
    assert!(matches!(p("journald"), Err(ArgsError::Invalid(m)) if m.contains("journald")));
    assert!(matches!(p("journald:x"), Err(ArgsError::Invalid(_))));
    assert!(matches!(p("k8s-file"), Err(ArgsError::Invalid(_))));
    assert!(matches!(p("syslog:/x"), Err(ArgsError::Invalid(m)) if m.contains("syslog")));
    assert!(matches!(p(""), Err(ArgsError::Invalid(_))));
    let o = with(&["-l", "passthrough"]).expect("valid");
    assert!(o.passthrough());
    assert_eq!(o.k8s_log_path(), Some(Path::new("/l/ctr.log")));
}

#[test]
fn help_and_version_win() {
    assert!(matches!(
        parse([OsString::from("--version")], Path::new("/")),
        Ok(Command::Version)
    ));
    assert!(matches!(
        parse([OsString::from("-h")], Path::new("/")),
        Ok(Command::Help)
    ));
}
