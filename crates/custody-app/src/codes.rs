//! The stable error codes: one table, the single source for `custody explain` and docs/errors.md.
//!
//! A code's first digit is its exit status: 1 verification failed, 2 usage or input error,
//! 3 environment or I/O failure. Codes are never reused or renumbered.

use std::fmt;
use std::str::FromStr;

macro_rules! codes {
    ($( $variant:ident = $num:literal, $title:literal, $meaning:literal, $fix:literal; )*) => {
        /// A stable error code (`CUSTODY-Exxxx`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $(
                #[doc = $title]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The number after `CUSTODY-E`.
            pub fn number(self) -> u16 {
                match self { $(Code::$variant => $num,)* }
            }

            /// A short title.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            /// What the code means, in a sentence or two.
            pub fn meaning(self) -> &'static str {
                match self { $(Code::$variant => $meaning,)* }
            }

            /// What to do about it.
            pub fn remediation(self) -> &'static str {
                match self { $(Code::$variant => $fix,)* }
            }
        }
    };
}

codes! {
    ArtifactDigestMismatch = 1001, "artifact does not match the signed digest",
        "The file's digest differs from the digest the signature or attestation covers: the file was changed after signing, or the bundle belongs to another file.",
        "Obtain the original artifact, or the bundle that was made for this exact file. Do not deploy this file.";
    SignatureInvalid = 1002, "signature does not verify",
        "The signature is well formed but does not verify over the signed content under the key: the signature, the signed payload or a bundle field was altered, or another key made it.",
        "Re-create the bundle with 'custody sign' or 'custody attest'. If the bundle came from elsewhere, treat the artifact as untrusted.";
    KeyMismatch = 1003, "signed by a different key",
        "The bundle says it was signed by one key, and the key given for verification is another; the signature does not verify under the given key.",
        "Verify with the signer's public key (the key id is in the message), or ask the publisher which key signs this artifact.";
    UnknownKey = 1004, "signing key is not in the trust root",
        "No key in the trust root has the signer's key id.",
        "Sign with a key the trust root lists, or add the key to a new trust root version signed by the root keys ('custody trust-root init --from').";
    WrongRole = 1005, "signing key has another role",
        "The signer's key is in the trust root, but for another role than the one this verification requires (for example a build key used as a release key).",
        "Sign with a key of the required role, or pass the intended role with --role if the requirement was wrong.";
    KeyExpired = 1006, "signing key has expired",
        "The signer's key is outside its validity window in the trust root at the time of verification.",
        "Re-sign with a current key. A signature made before expiry stays valid only with a trusted timestamp proving when it was made.";
    KeyNotYetValid = 1007, "signing key is not valid yet",
        "The signer's key is listed with a validity window that starts after the time of verification.",
        "Check the system clock, or wait until the key's validFrom time; re-sign with a currently valid key.";
    KeyRevoked = 1008, "signing key is revoked",
        "The trust root marks the signer's key as revoked at or before the time of verification.",
        "Treat artifacts signed only by this key as untrusted; re-sign them with a new key after review.";
    SubjectMismatch = 1009, "attestation is about another artifact",
        "The attestation's signature is valid, but none of its subjects has this file's digest.",
        "Use the attestation made for this exact file; an attestation cannot be moved to another artifact.";
    ThresholdNotMet = 1010, "not enough valid signatures",
        "Fewer distinct trusted keys signed than the threshold requires. Signatures by unknown keys, duplicate signatures by the same key, and invalid signatures do not count.",
        "Collect signatures from more of the required keys ('custody trust-root sign').";
    TrustRootExpired = 1011, "trust root has expired",
        "The trust root's expires time has passed.",
        "Obtain the current trust root version from its publisher, or have the root key holders issue a new version.";
    TrustRootChainBroken = 1012, "trust root version is not a valid successor",
        "A trust root version does not follow the previous one: its version is not exactly one higher, or the previous root keys did not sign it to their threshold.",
        "Verify the versions in order from a trusted anchor, and have the previous root key holders sign the new version.";
    TrustRootMalformed = 1013, "trust root is malformed",
        "The trust root document is not valid: bad JSON, duplicate keys, unknown fields, a key id that does not match its key, or a key listed twice.",
        "Obtain an intact copy of the trust root; do not edit a signed trust root by hand.";
    BundleMalformed = 1014, "bundle or envelope is malformed",
        "The bundle or DSSE envelope is not well formed: bad JSON, duplicate keys, invalid base64, missing fields, excessive size or nesting, or an invalid in-toto statement inside.",
        "Obtain an intact bundle from the signer, or re-create it with 'custody sign' or 'custody attest'.";
    BundleUnsupported = 1015, "bundle uses an unsupported format",
        "The bundle's media type, payload type, digest algorithm or key-and-digest combination is not one custody verifies.",
        "Use a Sigstore bundle v0.1 to v0.3 with a SHA-256 or SHA-512 digest, or a DSSE envelope carrying an in-toto Statement v1.";
    LogEntryRejected = 1016, "log entry refused",
        "The transparency log refused the submitted entry: its signature does not verify over its digest, its key and digest algorithms do not match, or it is malformed or too large.",
        "Submit a hashedrekord request whose signature was made by the given key over the given digest (custody sign --log does this).";
    TokenInvalid = 1017, "token missing, unknown or revoked",
        "The request carried no token, or a token that is unknown, malformed, or revoked.",
        "Pass a token from 'custody token create' with --token or CUSTODY_TOKEN (HTTP: Authorization: Bearer TOKEN).";
    TokenScopeMissing = 1018, "token lacks the needed scope",
        "The token is valid but its scopes do not allow this operation (least privilege: a pull token cannot push, a log token cannot administer).",
        "Create a token with the needed scope ('custody token create --scope ...'), e.g. log:write.";
    NotFound = 1019, "not found",
        "The requested object (tile, entry bundle, blob, manifest) does not exist, or is not part of what has been published.",
        "Check the name or path; for log tiles, request only tiles covered by a published checkpoint.";
    LogInclusionMissing = 1020, "not logged",
        "The trust root names a transparency log, and the bundle carries no entry from it for this signature: an unlogged signature is refused.",
        "Sign with --log URL (and a log:write token) so the signature is logged, then verify the new bundle.";
    LogProofInvalid = 1021, "log inclusion does not verify",
        "The bundle's transparency-log entry does not prove inclusion: the checkpoint is not signed by the trust root's log key, the proof does not lead to the checkpoint's root, or the entry logs a different signature.",
        "Obtain the bundle as the log returned it; if it was altered, treat the artifact as untrusted.";
    LogCheckpointInvalid = 1022, "log checkpoint does not verify",
        "A transparency log checkpoint (fetched from the log, or read from a file or a monitor's state file) is malformed, or is not signed by the given verifier key: a wrong --vkey, another log, or a forged checkpoint.",
        "Pass the log's verifier key (the server prints it with 'custody log vkey --data DIR'); if it is right, treat the checkpoint as forged.";
    LogInconsistent = 1023, "log is inconsistent with an earlier view",
        "The log's current checkpoint does not extend an earlier verified one: its tree is smaller (a rollback), its history differs (a split view or fork), or the tiles and entries it serves do not hash to its signed root.",
        "Do not trust the log's new entries. Keep the state file and both checkpoints as evidence, compare them with other monitors, and report it to the log's operator.";
    WitnessSignatureRejected = 1024, "witness: checkpoint not signed by the log",
        "A witness refused a checkpoint: it carries no signature by a key the witness trusts for the checkpoint's origin, or a signature by such a key that does not verify.",
        "Submit the checkpoint exactly as the log signed it, and check that the witness was started with the log's current vkey (custody witness serve --log VKEY).";
    WitnessUnknownLog = 1025, "witness: unknown log",
        "A witness refused a checkpoint whose origin is not one of the logs it witnesses.",
        "Start the witness with the log's vkey (custody witness serve --log VKEY), or send the checkpoint to a witness that knows the log.";
    WitnessConflict = 1026, "witness: old size is not the latest cosigned size",
        "A witness refused a checkpoint because the request's old size is not the size of the latest checkpoint it cosigned for the log (0 if none). The response carries the witness's size.",
        "Retry with the size the witness returned as the old size and a consistency proof from that size.";
    WitnessProofInvalid = 1027, "witness: checkpoint not consistent",
        "A witness refused to cosign a checkpoint that it cannot prove consistent with the latest checkpoint it cosigned for the log: the consistency proof does not verify, a proof was sent from size 0, an empty tree has the wrong root, or the same size has another root. A log that produced it may have forked.",
        "Send a consistency proof from the witness's size to the checkpoint's size computed from the log's own tree. If the log cannot, treat the log as misbehaving.";
    WitnessQuorumMissing = 1028, "log checkpoint lacks witness cosignatures",
        "The trust root requires a number of independent witnesses to have cosigned the log checkpoint that proves inclusion, and fewer valid cosignatures from its witness keys are present: the log may be showing this client a view nobody else sees.",
        "Re-log the signature with a log that collects cosignatures from the trust root's witnesses (custody serve --witness-url/--witness-vkey), or fetch a witnessed checkpoint.";
    TagImmutable = 1040, "tag is immutable",
        "The repository's settings make this tag immutable: once set, it can never be moved to another manifest or deleted.",
        "Push under a new tag (for example the next version); immutable release tags are never reused.";
    RegistryNotAdmitted = 1041, "manifest not admitted by the repository's policy",
        "The repository enforces signatures and provenance, and its enforcement gate did not admit the manifest (or no gate is configured, so nothing is admitted).",
        "Push the manifest's signature and attestations as referrers first, signed by keys the trust root allows, or check the server's registry configuration.";
    SignatureMissing = 1050, "no trusted signature over the manifest",
        "The registry enforces signatures in this repository, and no referrer of the manifest carries a message-signature bundle over the manifest's digest: the manifest is unsigned, or its signatures cover other digests or could not be parsed.",
        "Sign the manifest bytes with a key of the required role and log the signature ('custody sign MANIFEST --key K --log URL'), push the bundle as a referrer of the manifest (artifactType application/vnd.dev.sigstore.bundle.v0.3+json), then push or tag the manifest.";
    AttestationMissing = 1051, "required attestation missing",
        "The repository requires an attestation of a predicate type (for example SLSA provenance), and no referrer of the manifest carries a valid DSSE in-toto statement of that type about the manifest's digest, signed by an allowed key and logged.",
        "Attest the manifest digest with the required predicate type ('custody attest'), log it, and push the bundle as a referrer of the manifest.";
    BuilderNotAllowed = 1052, "attestation from a builder that is not allowed",
        "A valid provenance attestation about the manifest names a builder (runDetails.builder.id) that the repository's configuration does not allow.",
        "Build the artifact on one of the allowed builders, or add the builder id to the repository's attestation rule in the registry config after review.";
    AuditChainBroken = 1053, "audit log chain is broken",
        "A record of the audit log does not follow its predecessor: its sequence number is not the next one, its prev hash is not the hash of the record before it, or it is not a valid canonical record. Records were edited, deleted, reordered or inserted.",
        "Treat the audit log from the reported sequence number on as untrusted; compare with an earlier export and the chain heads logged in the transparency log.";
    AuditHeadMismatch = 1054, "audit log differs from a logged chain head",
        "A chain head that the server logged in its transparency log is not in the audit log as it is now (the history after it was truncated or rewritten), or the logged head's signature or inclusion proof does not verify.",
        "Treat the audit log as rewritten; restore it from a backup or export that contains the logged head, and investigate who had write access to the data directory.";
    RegistryAnswerInvalid = 1055, "registry answer is invalid",
        "The registry's answer does not match what was asked for: a manifest or blob whose digest differs from the requested one, a manifest that is not an OCI image manifest with one artifact layer, or a malformed referrers index.",
        "Treat the registry (or the network path to it) as untrusted for this artifact; pull by digest from a registry you trust, and report it to the registry's operator.";
    RebuildMismatch = 1060, "the rebuild did not reproduce the build",
        "'custody rebuild' re-ran the build recorded in the provenance (same commit, command and sandbox settings) and at least one output differs from the recorded subjects, is missing, or is new. The build is not reproducible, or the provenance does not describe how the artifact was really built.",
        "Look at the files listed (and compare them, e.g. with diffoscope); remove sources of nondeterminism such as timestamps, random numbers, file order and build paths (SOURCE_DATE_EPOCH is set for you).";
    TufMetadataRejected = 1070, "TUF metadata failed verification",
        "A TUF metadata file from the repository is malformed, or is not signed by a threshold of distinct keys its delegator authorizes (a root version also needs a threshold of the previous root's keys).",
        "Do not use the repository until its operator re-signs it; check that --tuf-root is the repository's root.";
    TufMetadataExpired = 1071, "TUF metadata expired",
        "A TUF role's metadata is past its expiry time: the repository was not re-signed, or a mirror is serving stale files (a freeze attack).",
        "Ask the repository's operator to re-sign the role; check the system clock.";
    TufRollback = 1072, "TUF metadata version rolled back or mismatched",
        "A TUF metadata file has a lower version than one already trusted, or another version than the snapshot or timestamp names: a rollback or mix-and-match attack, or a broken mirror.",
        "Do not use this mirror; the trusted versions are kept in the --cache directory.";
    TufTargetMismatch = 1073, "TUF target does not match its signed length or hashes",
        "The downloaded target (or a metadata file) differs in length or hash from what trusted metadata says, or is larger than its limit; or the OCI manifest a target lists does not hash to its oci_digest or does not name the target as a layer.",
        "Do not use the file; fetch it from another mirror or tell the repository's operator.";
    TufTargetNotFound = 1074, "TUF target is not in the repository",
        "No trusted targets role lists this target path (delegations were searched as the specification says).",
        "Check the target name; 'custody tuf add' publishes one.";
    TufBundleMissing = 1075, "TUF target carries no custody bundle",
        "'custody fetch --trust-root' verifies the target against the custody bundles its signed TUF metadata lists (custom.custody.bundles), and the target lists none, or none by a key of the role given with --role: it was published without --bundle, or the metadata is not what the publisher signed.",
        "Fetch without --trust-root only if TUF alone is enough for you; otherwise ask the publisher to sign the file and publish it with 'custody tuf add FILE --bundle FILE.sigstore.json'.";
    VulnerablePackages = 1080, "packages are affected by known vulnerabilities",
        "'custody scan' matched at least one package of the SBOM or lockfile against an advisory of the advisory directory: its version lies in an affected range that is not withdrawn.",
        "Upgrade each listed package to a fixed version (the advisory names it), regenerate Cargo.lock and the SBOM, and scan again.";
    PolicyTestsFailed = 1090, "policy tests failed",
        "'custody policy test' ran the Rego unit tests (test_* rules of the *_test.rego modules) and at least one did not evaluate to true: it was undefined (a condition failed), another value, or an error.",
        "Read each FAIL line: fix the policy if it no longer does what the test expects, or the test if the requirement changed. Rerun 'custody policy test DIR'.";
    PromotionConflict = 1095, "the environment moved since you read it",
        "A promotion or rollback was made for a position in the environment's history that is no longer the next one: another promotion or rollback was recorded first, or the event is an old one replayed. Each signed event is valid only at its own position (its sequence number and the digest it replaces), so two concurrent promotions never both succeed.",
        "Read the environment's history again and promote (or roll back) again: a new event is signed for the current position. Nothing was recorded by the refused attempt.";
    DeployRecordInvalid = 1096, "approval or promotion record is invalid",
        "An approval or promotion predicate is not what custody writes: not a JSON object, a missing or unknown field, an invalid environment or repository name, a sequence out of range, a first event that names a previous digest or is a rollback, a later event without one, or an event for another environment than the history it is checked against.",
        "Create approvals with 'custody approve' and promotions with 'custody promote' or 'custody rollback'; do not edit signed records. A record that arrived from elsewhere is not trustworthy evidence.";
    RollbackTargetInvalid = 1097, "cannot roll back to an artifact that was never deployed there",
        "A rollback must make current an artifact that was current in the same environment before the current one; the requested digest never was (or it is the current one).",
        "Pick a digest from the environment's history, or promote the artifact with 'custody promote' so that its approvals and policy are checked as for any new deployment.";
    DeployDenied = 1100, "deployment denied",
        "The gate refused: the artifact is not the environment's promoted digest, or it lacks a verified, logged release signature, or the environment's policy denied it. The message lists every reason.",
        "Read each reason: deploy the digest the environment promotes ('custody env show ENV'), or supply the missing evidence (approvals, rebuilds, provenance) and promote again. Never bypass the gate.";
    PromotionDenied = 1101, "promotion refused by policy",
        "The environment's policy denied the artifact when it was promoted (or rolled back to): the message lists every reason. Nothing was recorded.",
        "Supply what the reasons ask for (for example a second approval by another member of the release team: 'custody approve REF --env ENV'), then promote again.";
    PromotionInvalid = 1102, "promotion record does not verify",
        "A promotion or rollback record is not signed by a release key of the trust root, not logged, about another digest, environment or position in the history, or the history it extends is not the one the server holds.",
        "Promote with 'custody promote', which signs and logs the record for the environment's current position. If the server's history does not verify, stop deploying from it and investigate.";
    RollbackUnavailable = 1103, "no earlier artifact passes policy",
        "'custody rollback' found no digest earlier in the environment's history that still passes the environment's policy now (for example because its signer's key was revoked, or a critical vulnerability was found since).",
        "Promote a fixed artifact instead ('custody promote REF --to ENV'). The message lists why each earlier digest was refused.";
    DeployDrift = 1104, "deployed files differ from the environment's artifact",
        "'custody audit-deployed' found files on the machine that are missing or whose digests differ from the files of the environment's current, verified artifact.",
        "Treat the machine as untrusted: redeploy the promoted artifact, then find out how the files changed.";
    Usage = 2001, "invalid command line",
        "The command line could not be understood: an unknown option, a missing argument or an invalid value.",
        "Run the command with --help to see its arguments.";
    KeyFileMalformed = 2002, "key file is not a supported key",
        "The key file is not a PEM-encoded PKCS#8 private key or SPKI public key of a supported algorithm (Ed25519 or ECDSA P-256).",
        "Pass a key made by 'custody key generate', or convert with 'openssl pkcs8 -topk8' (private) or 'openssl pkey -pubout' (public).";
    WrongPassphrase = 2003, "wrong passphrase",
        "The encrypted private key could not be decrypted with the given passphrase.",
        "Check CUSTODY_PASSPHRASE or the passphrase you typed.";
    PassphraseRequired = 2004, "passphrase needed",
        "The private key is encrypted, or a new key is being written encrypted, and no passphrase was available (CUSTODY_PASSPHRASE is not set and there is no terminal to ask).",
        "Set CUSTODY_PASSPHRASE, or run in a terminal. To write an unencrypted key on purpose, pass --no-passphrase.";
    OutputExists = 2005, "output file exists",
        "Writing would overwrite an existing file that custody refuses to replace (a key file).",
        "Choose another --out prefix, or move the existing files away first.";
    PredicateMalformed = 2006, "predicate is not valid",
        "The predicate file is not a JSON object, is too large, or the predicate type is not an absolute URI.",
        "Pass a JSON object file with --predicate and a URI such as https://slsa.dev/provenance/v1 with --predicate-type.";
    UnknownCode = 2007, "unknown error code",
        "The code given to 'custody explain' is not a custody error code.",
        "Run 'custody explain --list' to see every code.";
    InvalidArgument = 2008, "invalid argument value",
        "An argument has a value custody cannot use (for example an unknown role, a key that is not a root key, or an invalid number of days).",
        "Run the command with --help and correct the value named in the message.";
    WitnessRequestMalformed = 2009, "witness: malformed add-checkpoint request",
        "An add-checkpoint request body does not follow C2SP tlog-witness (old size line, up to 63 base64 proof lines, an empty line, a checkpoint), or its old size is larger than the checkpoint's size.",
        "Send the body as https://c2sp.org/tlog-witness describes; the old size must not exceed the checkpoint's size.";
    RegistryNameInvalid = 2020, "invalid repository name or tag",
        "A repository name or tag does not follow the OCI distribution grammar (lowercase a-z 0-9 components separated by '/', '.', '_', '__' or '-', at most 255 characters; tags [A-Za-z0-9_][A-Za-z0-9._-]{0,127}).",
        "Use a name such as 'team/app' and a tag such as 'v1.2.3'.";
    RegistryDigestInvalid = 2021, "digest invalid or does not match the content",
        "A digest is not 'sha256:' or 'sha512:' with lowercase hex, or the uploaded content hashes to another digest. Nothing was stored.",
        "Compute the digest over the exact bytes sent, and pass it as ?digest=ALGORITHM:HEX.";
    RegistryManifestInvalid = 2022, "manifest is invalid",
        "The manifest is not a valid OCI image manifest or index, or Docker schema2 manifest or manifest list: bad JSON, duplicate keys, a wrong schemaVersion, an unsupported media type, or a bad descriptor.",
        "Push a manifest built by an OCI client (skopeo, oras, docker) with a matching Content-Type.";
    RegistryManifestBlobUnknown = 2023, "manifest references unknown content",
        "The manifest names a blob or child manifest that this repository does not hold (never pushed, deleted, or garbage-collected).",
        "Push (or mount) every layer, config and child manifest into the repository first, then push the manifest.";
    RegistryUploadInvalid = 2024, "upload invalid",
        "The blob upload cannot continue: the session is unknown or expired, belongs to another repository, a chunk does not start where the upload ends, or its Content-Range is malformed.",
        "Restart the upload with POST /v2/NAME/blobs/uploads/, and send chunks in order with Content-Range START-END.";
    RegistryTooLarge = 2025, "request too large",
        "The manifest or blob exceeds the registry's size limit.",
        "Keep manifests under 4 MiB; ask the operator about the blob size limit.";
    RegistryUnsupported = 2026, "registry operation not supported",
        "The request uses a parameter or operation that custody's registry does not support.",
        "Use the OCI distribution-spec v1.1 operations; see the message for the part that is unsupported.";
    RegistryConfigInvalid = 2030, "registry config is invalid",
        "The server's TOML config (custody serve --config) is not valid: a syntax error, an unknown key, a value of the wrong type, an invalid repository or tag pattern, an unknown role, or a rule that cannot be enforced.",
        "Correct the key named in the message; docs/registry-config.md describes every key, and docs/examples/registry.toml is a complete example.";
    ReferenceInvalid = 2031, "artifact reference is not valid",
        "The artifact reference is not [http(s)://]HOST[:PORT]/REPOSITORY[:TAG][@DIGEST] with an OCI repository name, tag and digest.",
        "Write the reference like 127.0.0.1:8080/team/app:v1 or registry.example.com/team/app@sha256:HEX.";
    BuildFailed = 2040, "the build command failed",
        "The command given to 'custody build' exited with a non-zero status (or was killed, for example by a resource limit) inside the sandbox. No provenance was signed.",
        "Read the build log written next to the output directory (build.log), fix the build, commit, and run 'custody build' again.";
    BuildSourceInvalid = 2041, "the source tree cannot be built from",
        "'custody build' runs on a git commit: the directory is not in a git work tree, has no commit, has uncommitted changes to tracked files, or holds the signing key.",
        "Run it inside a git work tree, commit (or stash) your changes first, and keep signing keys outside the source tree.";
    BuildOutputInvalid = 2042, "the build's outputs cannot be attested",
        "The build wrote nothing to $CUSTODY_OUT, or wrote something that is not a regular file or directory (a symbolic link, a device, a socket), or a name that is not UTF-8.",
        "Make the build write its artifacts as regular files under $CUSTODY_OUT.";
    BuildRequestInvalid = 2043, "the build request is not valid",
        "An argument to 'custody build' is not usable: an --env name that is reserved (HOME, CUSTODY_*, ...), malformed or unset, a builder id that is not an absolute URI, an empty command, a lockfile without checksums, or an output directory that is not empty.",
        "Fix the argument named in the message; 'custody build --help' lists the options.";
    TufRequestInvalid = 2050, "invalid TUF repository request",
        "A 'custody tuf' argument or repository state does not allow the operation: a bad target name, a bin count that is not a power of two, missing keys for a role, or a directory that is (or is not) already a repository.",
        "Fix the argument named in the message; 'custody tuf --help' lists the options.";
    TufTrustRootRequired = 2051, "TUF target has custody bundles to verify: give --trust-root",
        "The target's signed TUF metadata lists custody bundles (custom.custody.bundles), and 'custody fetch' was not given a trust root to verify them with; custody does not skip a check the publisher asked for.",
        "Pass --trust-root ROOT.json (and --role ROLE if the signer's role is not release); docs/tuf.md describes the convention.";
    LockfileInvalid = 2060, "the lockfile cannot be read",
        "The file given to 'custody sbom' or 'custody scan' is not a Cargo.lock custody can read: not TOML, a registry package without a SHA-256 checksum, a git package without a commit, or a dependency entry naming no package (or several).",
        "Regenerate the lockfile with 'cargo generate-lockfile' (or 'cargo update -w') and pass it with --lockfile.";
    SbomInvalid = 2061, "the SBOM cannot be read",
        "The file given to 'custody scan --sbom' is not a CycloneDX JSON SBOM custody can read: not JSON, bomFormat is not CycloneDX, or a component has no name and version or purl.",
        "Pass a CycloneDX JSON SBOM (for example one written by 'custody sbom'), or scan the lockfile directly with --lockfile.";
    AdvisoryInvalid = 2062, "an advisory cannot be read",
        "A file of the advisory directory given to 'custody scan' is not an OSV advisory custody can evaluate: not JSON, no id, or a crates.io range with a version that is not semver or an event other than introduced, fixed or last_affected. A scan that cannot read every advisory fails instead of reporting fewer findings.",
        "Replace the advisory directory with a fresh copy of the OSV export (for RustSec: the crates.io ecosystem export of osv.dev), or remove the broken file named in the message.";
    PolicyInvalid = 2070, "policy cannot be loaded",
        "A policy directory could not be read or parsed: it is missing or holds no *.rego module, a module is unreadable, too large (1 MiB) or not UTF-8, two modules share a name, a module is not valid Rego (the message names the file and line), or an environment package name is invalid (custody.env.NAME with NAME matching [a-z][a-z0-9_]{0,62}).",
        "Fix the module named in the message; 'custody policy test DIR' loads the directory and runs its tests. docs/policy.md describes the conventions.";
    EnvironmentNameInvalid = 2075, "invalid environment name",
        "Environment names are 1 to 63 characters of lowercase letters, digits and underscores, starting with a letter (they name Rego packages: custody.env.NAME).",
        "Use a name such as dev, staging or prod.";
    PolicyNotConfigured = 2080, "no policy for the environment",
        "The server or command has no policy directory, or the directory has no policy for this environment (package custody.env.ENV). Without a policy nothing is promoted (fail closed).",
        "Start the server with 'custody serve --policies DIR' (or pass --policies DIR), with ENV.rego declaring 'package custody.env.ENV'.";
    ReadFailed = 3001, "cannot read a file",
        "A file could not be opened or read (missing, a directory, or no permission).",
        "Check the path and its permissions.";
    WriteFailed = 3002, "cannot write a file",
        "A file could not be written, synced or renamed into place (no space, read-only filesystem, or no permission). Nothing partial was left behind.",
        "Check free space and permissions of the destination directory.";
    Internal = 3003, "internal error",
        "custody hit a condition it does not expect (a bug, or the system random number generator failed).",
        "Re-run with the same input; if it persists, report it with the command and this message.";
    LogStorage = 3004, "log storage failed",
        "The transparency log could not read or write its database; the batch was not published and nothing partial is visible.",
        "Check the data directory's disk space and permissions, then retry the submission.";
    LogBusy = 3005, "log is busy",
        "The transparency log's submission queue is full.",
        "Retry after a short delay; reduce the number of concurrent submitters if it persists.";
    LogUnavailable = 3006, "log is not available",
        "The transparency log's sequencer is not running (shutting down, or stopped after a storage failure).",
        "Restart 'custody serve' and check its data directory.";
    ListenFailed = 3007, "cannot serve on the address",
        "The server could not bind or accept on its listen address (in use, not permitted, or not an address).",
        "Choose another --listen address or stop the process that holds it.";
    WitnessStateInvalid = 3008, "witness state is unreadable",
        "A witness's record of a log (DIR/state/*.json) is not valid, or is for another origin. The witness refuses to cosign rather than forget what it cosigned.",
        "Restore the witness data directory from a backup; never delete state files of a running witness, or it may cosign a fork.";
    RegistryStorage = 3020, "registry storage failed",
        "The registry could not read or write its blob files or metadata database; nothing partial is visible.",
        "Check the data directory's disk space and permissions, then retry.";
    RegistryTrustRootUnavailable = 3030, "registry cannot load its trust root",
        "The registry enforces signatures but cannot read or verify its trust root (missing, expired, malformed, or not signed by its root keys), so it refuses every manifest it would have to check.",
        "Install a current trust root at the configured path (registry.trust_root, default DIR/trust-root.json) signed by its root keys; the registry picks it up without a restart.";
    AuditStorage = 3031, "audit log storage failed",
        "The audit log could not be read or written in the data directory's database; the audited write was not acknowledged.",
        "Check the data directory's disk space and permissions, then retry.";
    RegistryUnavailable = 3032, "registry is not reachable",
        "The OCI registry could not be reached, or answered with an error that carries no custody code (a network failure, a proxy, or a registry that is not custody).",
        "Check the registry host and port in the reference and that the registry is running; retry.";
    RateLimited = 3033, "too many requests",
        "The token (or, for requests without a token, all anonymous clients together) sent more requests per second than the registry's limits.requests_per_second allows.",
        "Retry after a short delay; spread the requests out, or ask the operator to raise limits.requests_per_second.";
    SandboxUnavailable = 3040, "the build sandbox cannot be created",
        "'custody build' needs bubblewrap (bwrap), util-linux prlimit and git, and a kernel that allows unprivileged user namespaces; one of them is missing or refused to set up the sandbox.",
        "Install the Debian packages bubblewrap, util-linux and git, and allow user namespaces (sysctl kernel.unprivileged_userns_clone=1, or the AppArmor userns restriction lifted for bwrap).";
    TufFetchFailed = 3050, "cannot fetch from the TUF repository",
        "A metadata file or target could not be downloaded from the --from URL (network error, or an HTTP status other than 404/403 where the chain walk allows them).",
        "Check the URL and the network; retry.";
    EnvironmentStoreFailed = 3060, "the environment history cannot be read or written",
        "The server's environment store (the environments' promotion histories in DATA/custody.db) could not be opened, read or written, or holds data custody did not write.",
        "Check the data directory's disk space and permissions, and that no other tool edits custody.db; if it is damaged, restore it from a backup. Nothing was recorded by a failed promotion.";
}

impl Code {
    /// The process exit status for this code: 1, 2 or 3.
    pub fn exit_status(self) -> u8 {
        // The first digit of the four-digit number.
        (self.number() / 1000) as u8
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CUSTODY-E{:04}", self.number())
    }
}

impl FromStr for Code {
    type Err = ();

    /// Accepts `CUSTODY-E1001`, `E1001` or `1001`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let digits = upper
            .strip_prefix("CUSTODY-")
            .unwrap_or(&upper)
            .trim_start_matches('E');
        let number: u16 = digits.parse().map_err(|_| ())?;
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.number() == number)
            .ok_or(())
    }
}

/// docs/errors.md as generated from the table (a test keeps the file in sync).
pub fn markdown() -> String {
    let mut out = String::from(
        "# custody error codes\n\n\
         Generated from `crates/custody-app/src/codes.rs` (regenerate with\n\
         `CUSTODY_BLESS=1 cargo nextest run -p custody-app docs_errors_md_is_current`).\n\
         `custody explain CODE` prints the same text.\n\n\
         The first digit of a code is the process exit status:\n\
         1 = verification failed or policy denied, 2 = usage or input error,\n\
         3 = environment or I/O failure. Codes are never renumbered or reused.\n\n\
         | code | title | exit |\n| --- | --- | --- |\n",
    );
    for code in Code::ALL {
        out.push_str(&format!(
            "| [{code}](#{}) | {} | {} |\n",
            code.to_string().to_lowercase(),
            code.title(),
            code.exit_status()
        ));
    }
    for code in Code::ALL {
        out.push_str(&format!(
            "\n## {code}\n\n**{}** (exit {})\n\n{}\n\n**What to do:** {}\n",
            code.title(),
            code.exit_status(),
            code.meaning(),
            code.remediation()
        ));
    }
    out
}
