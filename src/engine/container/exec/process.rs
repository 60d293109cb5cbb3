//! The process of an exec session: the container's own process (as its
//! bundle's config.json has it: environment, capabilities, rlimits,
//! no_new_privileges, AppArmor profile) with the session's command,
//! environment, user, working directory and terminal.

use std::collections::HashSet;

use oci_spec::runtime::{Capabilities, LinuxCapabilities, Process};

use crate::engine::container::exec::ExecOptions;
use crate::engine::container::spec::merge_env;
use crate::runtime::spec::user::ProcessUser;

/// Capabilities of a session that runs as `uid`: the whole `bounding` set
/// for root; for anyone else only what the container added explicitly
/// (its ambient set), as the container's own process gets.
fn capabilities(
    base: Option<&LinuxCapabilities>,
    bounding: Capabilities,
    uid: u32,
) -> LinuxCapabilities {
    let added: Capabilities = base
        .and_then(|c| c.ambient().clone())
        .unwrap_or_default()
        .intersection(&bounding)
        .copied()
        .collect();
    let (eff, inh) = if uid == 0 {
        (bounding.clone(), HashSet::new())
    } else {
        (added.clone(), added)
    };
    let mut caps = LinuxCapabilities::default();
    caps.set_bounding(Some(bounding));
    caps.set_effective(Some(eff.clone()));
    caps.set_permitted(Some(eff));
    caps.set_inheritable(Some(inh.clone()));
    caps.set_ambient(Some(inh));
    caps
}

/// The session's process. `user` is `-u` resolved in the container's root
/// file system; `privileged` the caller's bounding set with `--privileged`.
pub fn build(
    base: &Process,
    opts: &ExecOptions,
    user: Option<&ProcessUser>,
    privileged: Option<Capabilities>,
) -> Process {
    let mut p = base.clone();
    p.set_args(Some(opts.command.clone()));
    p.set_terminal(Some(opts.terminal));
    p.set_console_size(
        opts.console_size
            .filter(|_| opts.terminal)
            .map(crate::runtime::spec::console_size),
    );
    let mut env = merge_env(base.env().as_deref().unwrap_or_default(), &opts.env);
    if let Some(u) = user {
        let own_home = opts.env.iter().any(|e| e.split('=').next() == Some("HOME"));
        if !own_home {
            env = merge_env(&env, &[format!("HOME={}", u.home)]);
        }
        let mut spec_user = base.user().clone();
        spec_user.set_uid(u.uid);
        spec_user.set_gid(u.gid);
        spec_user.set_additional_gids(
            Some(u.additional_gids.clone()).filter(|g: &Vec<u32>| !g.is_empty()),
        );
        spec_user.set_username(None);
        p.set_user(spec_user);
    }
    p.set_env(Some(env));
    if let Some(dir) = &opts.workdir {
        p.set_cwd(dir.into());
    }
    if user.is_some() || privileged.is_some() {
        let base_caps = base.capabilities().as_ref();
        let bounding = privileged
            .or_else(|| base_caps.and_then(|c| c.bounding().clone()))
            .unwrap_or_default();
        p.set_capabilities(Some(capabilities(base_caps, bounding, p.user().uid())));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::container::exec::ExecMode;
    use oci_spec::runtime::Capability;

    fn base() -> Process {
        let mut p = Process::default();
        p.set_args(Some(vec!["sh".into()]));
        p.set_env(Some(vec![
            "PATH=/bin".into(),
            "HOME=/root".into(),
            "A=1".into(),
        ]));
        p.set_cwd("/skiff".into());
        p.set_no_new_privileges(Some(true));
        p.set_apparmor_profile(Some("skiff-default".into()));
        let mut caps = LinuxCapabilities::default();
        let set: Capabilities = [Capability::Chown, Capability::Kill].into();
        caps.set_bounding(Some(set.clone()));
        caps.set_effective(Some(set.clone()));
        caps.set_permitted(Some(set));
        caps.set_ambient(Some(HashSet::new()));
        p.set_capabilities(Some(caps));
        p
    }

    fn opts(command: &[&str]) -> ExecOptions {
        ExecOptions {
            command: command.iter().map(|s| s.to_string()).collect(),
            env: vec!["A=2".into(), "B=3".into()],
            user: None,
            workdir: None,
            terminal: true,
            console_size: Some(crate::sys::tty::WindowSize { rows: 25, cols: 90 }),
            stdin: true,
            privileged: false,
            mode: ExecMode::Attached,
        }
    }

    #[test]
    fn keeps_the_containers_settings_and_overrides_the_command() {
        let p = build(&base(), &opts(&["id", "-u"]), None, None);
        assert_eq!(
            p.args().as_deref(),
            Some(&["id".to_string(), "-u".into()][..])
        );
        assert_eq!(
            p.env().as_deref(),
            Some(
                &[
                    "PATH=/bin".to_string(),
                    "HOME=/root".into(),
                    "A=2".into(),
                    "B=3".into()
                ][..]
            )
        );
        assert_eq!(p.cwd().to_str(), Some("/skiff"));
        assert_eq!(p.terminal(), Some(true));
        let size = p.console_size().expect("the caller's terminal size");
        assert_eq!((size.height(), size.width()), (25, 90));
        assert_eq!(p.no_new_privileges(), Some(true));
        assert_eq!(p.apparmor_profile().as_deref(), Some("skiff-default"));
        assert_eq!(p.capabilities(), base().capabilities());
    }

    #[test]
    fn another_user_gets_its_home_and_no_effective_capabilities() {
        let user = ProcessUser {
            uid: 1000,
            gid: 1000,
            additional_gids: vec![5],
            home: "/home/skiff".into(),
        };
        let mut o = opts(&["id"]);
        o.workdir = Some("/tmp".into());
        let p = build(&base(), &o, Some(&user), None);
        assert_eq!(p.user().uid(), 1000);
        assert_eq!(p.user().gid(), 1000);
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[5][..]));
        assert!(p
            .env()
            .as_ref()
            .is_some_and(|e| e.contains(&"HOME=/home/skiff".to_string())));
        assert_eq!(p.cwd().to_str(), Some("/tmp"));
        let caps = p.capabilities().clone().unwrap_or_default();
        assert_eq!(caps.bounding().as_ref().map(|b| b.len()), Some(2));
        assert_eq!(caps.effective().as_ref().map(|e| e.len()), Some(0));
        o.env.push("HOME=/mine".into());
        let p = build(&base(), &o, Some(&user), None);
        assert!(p
            .env()
            .as_ref()
            .is_some_and(|e| e.contains(&"HOME=/mine".to_string())));
    }

    #[test]
    fn privileged_gives_the_callers_bounding_set() {
        let all: Capabilities = [Capability::Chown, Capability::Kill, Capability::SysAdmin].into();
        let p = build(&base(), &opts(&["sh"]), None, Some(all.clone()));
        let caps = p.capabilities().clone().unwrap_or_default();
        assert_eq!(caps.bounding().as_ref(), Some(&all));
        assert_eq!(caps.effective().as_ref(), Some(&all), "root gets them all");
    }
}
