//! `skiff login`: check credentials against a registry and store them in the
//! auth file (podman-login(1)).

mod prompt;

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::cli::image::pull::tls_verify;
use crate::cli::CliContext;
use crate::engine::login::{LoginOptions, LoginTarget};
use crate::image::auth::Credentials;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Registry: HOST[:PORT] or HOST[:PORT]/NAMESPACE (default: the first
    /// unqualified-search registry)
    pub registry: Option<String>,
    /// User name for the registry
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password for the registry
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Require HTTPS and verify certificates (default: as registries.conf says)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Path of the authentication file
    #[arg(long, env = "REGISTRY_AUTH_FILE", hide_env = true)]
    pub authfile: Option<PathBuf>,
    /// Print the user name stored for the registry
    #[arg(long)]
    pub get_login: bool,
    /// Print the path of the authentication file written
    #[arg(short, long)]
    pub verbose: bool,
}

pub fn run(ctx: &CliContext, args: LoginArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let target = match &args.registry {
        Some(r) => LoginTarget::parse(r)?,
        None => engine.default_login_target()?,
    };
    let opts = LoginOptions {
        tls_verify: tls_verify(args.tls_verify),
        authfile: args.authfile.clone(),
    };
    let stored = engine.stored_login(&target, opts.authfile.as_deref())?;
    let mut out = io::stdout();
    if args.get_login {
        let Some(found) = stored.filter(|c| !c.username.is_empty()) else {
            anyhow::bail!("not logged into {target}");
        };
        writeln!(out, "{}", found.username)?;
        return Ok(ExitCode::SUCCESS);
    }

    let password = given_password(&args)?;
    let username = args.username.clone().filter(|u| !u.is_empty());
    // Neither given: the stored credentials may still be good (podman
    // checks them before prompting).
    if let (None, None, Some(existing)) = (&username, &password, &stored) {
        if !existing.username.is_empty() && !existing.password.is_empty() {
            writeln!(out, "Authenticating with existing credentials for {target}")?;
            match engine.check_login(&target, existing, opts.tls_verify) {
                Ok(()) => {
                    writeln!(
                        out,
                        "Existing credentials are valid. Already logged in to {}",
                        target.registry()
                    )?;
                    return Ok(ExitCode::SUCCESS);
                }
                Err(e) => {
                    tracing::debug!("{e}");
                    writeln!(
                        out,
                        "Existing credentials are invalid, please enter valid username and password"
                    )?;
                }
            }
        }
    }

    let username = match username {
        Some(u) => u,
        None => {
            let default = stored.as_ref().map(|c| c.username.as_str());
            prompt::username(&mut out, default.filter(|u| !u.is_empty()))
                .context("getting username and password")?
        }
    };
    let password = match password {
        Some(p) => p,
        None => prompt::password(&mut out).context("getting username and password")?,
    };
    let creds = Credentials { username, password };
    let path = engine.login(&target, &creds, &opts)?;
    if args.verbose {
        writeln!(out, "Used: {}", path.display())?;
    }
    writeln!(out, "Login Succeeded!")?;
    Ok(ExitCode::SUCCESS)
}

/// `--password`, or `--password-stdin`; `None` when a prompt is needed.
fn given_password(args: &LoginArgs) -> anyhow::Result<Option<String>> {
    let flag = args.password.clone().filter(|p| !p.is_empty());
    if !args.password_stdin {
        return Ok(flag);
    }
    if flag.is_some() {
        anyhow::bail!("--password and --password-stdin cannot be used together");
    }
    if !matches!(args.username.as_deref(), Some(u) if !u.is_empty()) {
        anyhow::bail!("--password-stdin needs --username");
    }
    let mut input = String::new();
    io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    Ok(Some(join_lines(&input)).filter(|p| !p.is_empty()))
}

/// The lines of `input` without their line endings, joined: a password
/// piped in with a trailing newline (`echo pw |`) is just `pw`.
fn join_lines(input: &str) -> String {
    input
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_password_loses_line_endings() {
        assert_eq!(join_lines("s3cret\n"), "s3cret");
        assert_eq!(join_lines("s3cret\r\n"), "s3cret");
        assert_eq!(join_lines("s3cret"), "s3cret");
        assert_eq!(join_lines("a\nb\n"), "ab");
        assert_eq!(join_lines(""), "");
        assert_eq!(join_lines("with space \n"), "with space ");
    }
}
