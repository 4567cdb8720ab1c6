//! Human and JSON rendering. With `--json`, stdout carries exactly one JSON document, for
//! success and for failure alike; human output goes to stdout and errors to stderr.

use std::io::Write as _;

use custody_app::Error;
use serde_json::{Value, json};

/// Where and how results are printed.
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    /// Prints a command's result: `human` in text mode, `{"ok": true, ...value}` in JSON mode.
    pub(crate) fn success(&self, human: &str, value: Value) {
        let mut stdout = std::io::stdout().lock();
        if self.json {
            let mut doc = json!({ "ok": true });
            if let (Some(doc), Value::Object(fields)) = (doc.as_object_mut(), value) {
                doc.extend(fields);
            }
            let _ = writeln!(stdout, "{doc}");
        } else if !human.is_empty() {
            let _ = writeln!(stdout, "{human}");
        }
    }

    /// Prints progress text (text mode only; JSON mode stays one document).
    pub(crate) fn info(&self, line: &str) {
        if !self.json {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    /// Prints an error: code, cause and hint.
    pub(crate) fn error(&self, err: &Error) {
        if self.json {
            let doc = json!({
                "ok": false,
                "error": {
                    "code": err.code().to_string(),
                    "title": err.code().title(),
                    "message": err.message(),
                    "hint": err.hint(),
                    "exitStatus": err.exit_status(),
                }
            });
            let _ = writeln!(std::io::stdout().lock(), "{doc}");
        } else {
            let _ = writeln!(
                std::io::stderr().lock(),
                "error[{}]: {}\n  hint: {}\n  more: custody explain {}",
                err.code(),
                err.message(),
                err.hint(),
                err.code()
            );
        }
    }
}
