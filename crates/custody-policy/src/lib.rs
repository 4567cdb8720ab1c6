//! custody's policy decisions: Rego policies evaluated over already-verified facts.
//!
//! What it is: a [`PolicySet`] built from the text of a directory's `*.rego` modules, and a
//! [`Decision`] for an environment and an input document (the verified facts, shaped as in
//! `docs/policy.md`). The policy of environment `ENV` is the package `custody.env.ENV`; its
//! `deny` rule is a set of messages. A decision allows only when that package exists, its
//! `deny` evaluated without error to a set of strings, and the set is empty: everything else
//! denies (fail closed), with the reason.
//!
//! What it is not: I/O. Module texts come in as parameters, and so does time (the input's
//! `now`/`nowUnix`); the Rego engine is built without its clock, network and randomness
//! builtins. Reading a policy directory is `custody_app::policy`'s job.
//!
//! ```
//! use custody_policy::PolicySet;
//! use serde_json::json;
//!
//! let policy = r#"
//!     package custody.env.prod
//!     deny contains "not signed" if count(input.signatures) == 0
//! "#;
//! let set = PolicySet::from_sources(vec![("prod.rego".into(), policy.into())]).unwrap();
//! let decision = set.evaluate("prod", &json!({"signatures": []}));
//! assert!(!decision.allowed);
//! assert_eq!(decision.reasons, ["not signed"]);
//! assert!(set.evaluate("prod", &json!({"signatures": [{}]})).allowed);
//! ```

mod error;

use std::collections::{BTreeMap, BTreeSet};

use regorus::unstable::{Module, Rule, RuleHead};
use regorus::{CompiledPolicy, Engine, Value};

pub use crate::error::PolicyError;

/// The package prefix of environment policies: `custody.env.<environment>`.
pub const ENV_PACKAGE_PREFIX: &str = "custody.env.";

/// The file-name suffix of modules that hold Rego unit tests (`test_*` rules).
pub const TEST_MODULE_SUFFIX: &str = "_test.rego";

/// Checks an environment name: `[a-z][a-z0-9_]{0,62}`, so that it is a Rego identifier.
pub fn validate_environment(name: &str) -> Result<(), PolicyError> {
    let bytes = name.as_bytes();
    let valid = matches!(bytes.first(), Some(b'a'..=b'z'))
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'));
    if valid {
        Ok(())
    } else {
        Err(PolicyError::InvalidEnvironment {
            name: name.to_owned(),
        })
    }
}

/// The outcome of evaluating an environment's policy over an input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// Whether the action is allowed: only when `reasons` is empty and nothing failed.
    pub allowed: bool,
    /// Why it was denied: the policy's deny messages (sorted, without duplicates), or the
    /// failure that denied it (missing package, engine error, malformed `deny`).
    pub reasons: Vec<String>,
    /// [`PolicySet::digest`] of the policy set that decided.
    pub policy_digest: String,
    /// The environment whose policy decided.
    pub environment: String,
}

/// The outcome of one Rego unit test (a `test_*` rule in a `*_test.rego` module).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestOutcome {
    /// The test's package, without the `data.` prefix (e.g. `custody.env.prod_test`).
    pub package: String,
    /// The rule's name (e.g. `test_allows_a_good_release`).
    pub name: String,
    /// Whether the rule evaluated to `true`.
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub message: String,
}

/// A parsed set of policy modules: environment policies, shared modules and test modules.
///
/// Cloning is cheap: the parsed modules are shared.
#[derive(Clone)]
pub struct PolicySet {
    /// The non-test modules, prepared once; the base that `run_tests` adds test modules to.
    engine: Engine,
    /// A preparation failure shared by every decision (fail closed).
    broken: Option<String>,
    /// Environment name → its `deny` rule compiled for evaluation, or why it could not be.
    environments: BTreeMap<String, Result<CompiledPolicy, String>>,
    /// Test modules as (file name, text), kept apart from the gate.
    tests: Vec<(String, String)>,
    digest: String,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field(
                "environments",
                &self.environments.keys().collect::<Vec<_>>(),
            )
            .field(
                "tests",
                &self.tests.iter().map(|t| &t.0).collect::<Vec<_>>(),
            )
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// Converts JSON to an engine value directly (faster than the engine's serde path).
fn to_value(json: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from_json_str(&n.to_string()).unwrap_or(Value::Undefined),
        },
        J::String(s) => Value::from(s.as_str()),
        J::Array(items) => Value::from(items.iter().map(to_value).collect::<Vec<_>>()),
        J::Object(fields) => Value::from(
            fields
                .iter()
                .map(|(k, v)| (Value::from(k.as_str()), to_value(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// A fresh engine with custody's settings: Rego v1, builtin errors are errors.
fn new_engine() -> Engine {
    let mut engine = Engine::new();
    // In OPA's default mode a failing builtin makes its expression undefined, which would
    // silently skip a deny rule: fail closed instead.
    engine.set_strict_builtin_errors(true);
    engine
}

/// Parses `text` as module `file` into `engine`, returning its package (without `data.`).
fn add_module(engine: &mut Engine, file: &str, text: &str) -> Result<String, PolicyError> {
    let package = engine
        .add_policy(file.to_owned(), text.to_owned())
        .map_err(|e| PolicyError::parse(file, &e.to_string()))?;
    Ok(package.strip_prefix("data.").unwrap_or(&package).to_owned())
}

impl PolicySet {
    /// Parses every module (file name, text). Modules whose name ends in `_test.rego` are
    /// test modules: parsed here, used only by [`PolicySet::run_tests`].
    ///
    /// Fails on a duplicate file name, a syntax error (naming the file and line), or an
    /// invalid environment package name (`custody.env.Bad-Name`). Errors the engine finds
    /// only when preparing for evaluation (e.g. an unsafe variable) make every decision a
    /// denial with that error, and fail every test.
    pub fn from_sources(mut modules: Vec<(String, String)>) -> Result<Self, PolicyError> {
        modules.sort();
        for pair in modules.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(PolicyError::DuplicateModule {
                    file: pair[0].0.clone(),
                });
            }
        }
        let digest = digest_of(&modules);

        let mut engine = new_engine();
        let mut environments = BTreeMap::new();
        let mut tests = Vec::new();
        for (file, text) in modules {
            if file.ends_with(TEST_MODULE_SUFFIX) {
                // Parsed now so that a broken test module is reported at load time.
                add_module(&mut new_engine(), &file, &text)?;
                tests.push((file, text));
                continue;
            }
            let package = add_module(&mut engine, &file, &text)?;
            if let Some(env) = package.strip_prefix(ENV_PACKAGE_PREFIX) {
                validate_environment(env).map_err(|_| PolicyError::InvalidPackage {
                    file: file.clone(),
                    package: package.clone(),
                })?;
                environments.insert(env.to_owned(), Err(String::new()));
            }
        }

        // Prepare once (analysis, scheduling), then compile each environment's `deny` rule,
        // so that a decision only evaluates.
        let broken = match engine.eval_query("true".to_owned(), false) {
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        };
        if broken.is_none() {
            for (env, compiled) in &mut environments {
                let rule = format!("data.{ENV_PACKAGE_PREFIX}{env}.deny");
                *compiled = engine
                    .compile_with_entrypoint(&rule.into())
                    .map_err(|e| e.to_string());
            }
        }
        Ok(Self {
            engine,
            broken,
            environments,
            tests,
            digest,
        })
    }

    /// `sha256:<hex>` over every module (test modules too), in file-name order: each file name
    /// and text, each preceded by its length as 8 big-endian bytes. A decision records it, so
    /// that it says which policy version decided.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The environments that have a policy (a package `custody.env.<name>`), sorted.
    pub fn environments(&self) -> Vec<String> {
        self.environments.keys().cloned().collect()
    }

    /// Decides whether `input` is allowed in `environment`. Never fails: any problem denies,
    /// with the problem as the reason.
    pub fn evaluate(&self, environment: &str, input: &serde_json::Value) -> Decision {
        let reasons = match self.deny_reasons(environment, input) {
            Ok(reasons) => reasons,
            Err(reason) => vec![reason],
        };
        Decision {
            allowed: reasons.is_empty(),
            reasons,
            policy_digest: self.digest.clone(),
            environment: environment.to_owned(),
        }
    }

    /// The deny messages, or the one reason the policy could not decide.
    fn deny_reasons(
        &self,
        environment: &str,
        input: &serde_json::Value,
    ) -> Result<Vec<String>, String> {
        if validate_environment(environment).is_err() {
            return Err(format!("invalid environment name {environment:?}"));
        }
        let Some(compiled) = self.environments.get(environment) else {
            return Err(format!("no policy for environment {environment}"));
        };
        if let Some(error) = &self.broken {
            return Err(format!("policy error: {error}"));
        }
        let compiled = compiled
            .as_ref()
            .map_err(|e| format!("policy error: {e}"))?;
        // The tree interpreter, not regorus's bytecode VM: the VM was ~3x faster here but
        // does not report conflicting values of a complete rule, which must deny.
        let value = compiled
            .eval_with_input(to_value(input))
            .map_err(|e| format!("policy error: {e}"))?;
        deny_messages(environment, &value)
    }

    /// Runs every `test_*` rule of the `*_test.rego` modules, with all other modules loaded,
    /// as `opa test` does: a test passes iff its rule evaluates to `true`. Outcomes are in
    /// (package, name) order.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        // All test modules are loaded together (a test package may import another's fixtures).
        let mut engine = self.engine.clone();
        let mut packages = Vec::new();
        for (file, text) in &self.tests {
            match add_module(&mut engine, file, text) {
                Ok(package) => packages.push(package),
                Err(e) => {
                    return vec![TestOutcome {
                        package: file.clone(),
                        name: String::new(),
                        passed: false,
                        message: e.to_string(),
                    }];
                }
            }
        }
        let modules = engine.get_modules();
        let first_test = modules.len().saturating_sub(self.tests.len());
        let names: Vec<Vec<String>> = modules[first_test..]
            .iter()
            .map(|module| test_rule_names(module))
            .collect();

        let mut outcomes = Vec::new();
        for (package, names) in packages.iter().zip(names) {
            for name in names {
                let result = engine.eval_rule(format!("data.{package}.{name}"));
                let message = match result {
                    Ok(Value::Bool(true)) => String::new(),
                    Ok(Value::Undefined) => "the rule is undefined (a condition failed)".to_owned(),
                    Ok(other) => format!("the rule evaluated to {other}, not true"),
                    Err(e) => format!("error: {e}"),
                };
                outcomes.push(TestOutcome {
                    package: package.clone(),
                    name,
                    passed: message.is_empty(),
                    message,
                });
            }
        }
        outcomes.sort_by(|a, b| (&a.package, &a.name).cmp(&(&b.package, &b.name)));
        outcomes.dedup_by(|a, b| a.package == b.package && a.name == b.name);
        outcomes
    }
}

/// The names of the `test_*` rules of a module, without duplicates.
fn test_rule_names(module: &Module) -> Vec<String> {
    let mut names = BTreeSet::new();
    for rule in &module.policy {
        let Rule::Spec { head, .. } = rule.as_ref() else {
            continue;
        };
        let (RuleHead::Compr { refr, .. }
        | RuleHead::Set { refr, .. }
        | RuleHead::Func { refr, .. }) = head;
        let name = refr.span().text();
        if name.starts_with("test_") {
            names.insert(name.to_owned());
        }
    }
    names.into_iter().collect()
}

/// Reads a `deny` value: a set or array of strings, deduplicated and sorted.
fn deny_messages(environment: &str, value: &Value) -> Result<Vec<String>, String> {
    let items: Vec<&Value> = match value {
        Value::Set(set) => set.iter().collect(),
        Value::Array(array) => array.iter().collect(),
        Value::Undefined => {
            return Err(format!(
                "policy error: data.custody.env.{environment}.deny is undefined"
            ));
        }
        other => {
            return Err(format!(
                "policy error: data.custody.env.{environment}.deny is {other}, not a set of strings"
            ));
        }
    };
    let mut messages = BTreeSet::new();
    for item in items {
        match item {
            Value::String(s) => {
                messages.insert(s.to_string());
            }
            other => {
                return Err(format!(
                    "policy error: data.custody.env.{environment}.deny holds {other}, not a string"
                ));
            }
        }
    }
    Ok(messages.into_iter().collect())
}

/// The digest of sorted (file name, text) pairs, each part length-prefixed.
fn digest_of(modules: &[(String, String)]) -> String {
    let mut bytes = Vec::new();
    for (name, text) in modules {
        for part in [name, text] {
            bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
    }
    custody_crypto::sha256(&bytes).to_string()
}

#[cfg(test)]
mod tests;
