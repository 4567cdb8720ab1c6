//! Human and JSON rendering. With `--json`, stdout carries exactly one JSON document, for
//! success and for failure alike; human output goes to stdout and errors to stderr.

use std::io::Write as _;

use custody_app::Error;
use serde_json::{Value, json};

/// Where and how results are printed.
pub(crate) struct Output {
    json: bool,
    /// Fields that go into the JSON document of the error that follows (e.g. a gate's
    /// decision with its reasons), so that a failure still prints one document.
    detail: std::cell::RefCell<Option<Value>>,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self {
            json,
            detail: std::cell::RefCell::new(None),
        }
    }

    /// Adds `fields` to the JSON document of the error the command is about to return.
    pub(crate) fn attach_to_error(&self, fields: Value) {
        *self.detail.borrow_mut() = Some(fields);
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

    /// A progress reporter for transfers of `label`: a percentage line redrawn on standard
    /// error, only in text mode, when standard error is a terminal and the transfer is large.
    pub(crate) fn progress(&self, label: &str) -> Option<impl Fn(u64, u64) + Sync + use<>> {
        use std::io::IsTerminal as _;
        if self.json || !std::io::stderr().is_terminal() {
            return None;
        }
        let label = label.to_owned();
        let last = std::sync::atomic::AtomicU64::new(u64::MAX);
        Some(move |done: u64, total: u64| {
            const LARGE: u64 = 16 * 1024 * 1024;
            if total < LARGE {
                return;
            }
            let percent = done.saturating_mul(100) / total.max(1);
            if last.swap(percent, std::sync::atomic::Ordering::Relaxed) == percent {
                return;
            }
            let mib = |b: u64| b / (1024 * 1024);
            let end = if done >= total { "\n" } else { "" };
            let _ = write!(
                std::io::stderr().lock(),
                "\r{label}: {percent:3}% ({} / {} MiB){end}",
                mib(done),
                mib(total)
            );
        })
    }

    /// Prints an error: code, cause and hint.
    pub(crate) fn error(&self, err: &Error) {
        if self.json {
            let mut doc = json!({
                "ok": false,
                "error": {
                    "code": err.code().to_string(),
                    "title": err.code().title(),
                    "message": err.message(),
                    "hint": err.hint(),
                    "exitStatus": err.exit_status(),
                }
            });
            if let (Some(doc), Some(Value::Object(fields))) =
                (doc.as_object_mut(), self.detail.borrow_mut().take())
            {
                for (k, v) in fields {
                    doc.entry(k).or_insert(v);
                }
            }
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
