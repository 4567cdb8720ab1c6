//! `custody explain CODE` and `custody explain --list`.

use custody_app::{Code, Error, Result};
use serde_json::json;

use crate::output::Output;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["code", "list"])))]
pub(crate) struct Args {
    /// An error code, e.g. CUSTODY-E1001 (or E1001, or 1001).
    code: Option<String>,
    /// List every code.
    #[arg(long)]
    list: bool,
}

fn describe(code: Code) -> serde_json::Value {
    json!({
        "code": code.to_string(),
        "title": code.title(),
        "meaning": code.meaning(),
        "remediation": code.remediation(),
        "exitStatus": code.exit_status(),
    })
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    if args.list {
        let human: Vec<String> = Code::ALL
            .iter()
            .map(|c| format!("{c}  exit {}  {}", c.exit_status(), c.title()))
            .collect();
        out.success(
            &human.join("\n"),
            json!({ "codes": Code::ALL.iter().map(|c| describe(*c)).collect::<Vec<_>>() }),
        );
        return Ok(());
    }
    let text = args.code.unwrap_or_default();
    let code: Code = text.parse().map_err(|()| {
        Error::new(
            Code::UnknownCode,
            format!("'{text}' is not a custody error code"),
        )
    })?;
    out.success(
        &format!(
            "{code}: {}\n\n{}\n\nWhat to do: {}\n\nExit status: {}",
            code.title(),
            code.meaning(),
            code.remediation(),
            code.exit_status()
        ),
        describe(code),
    );
    Ok(())
}
