"""in-toto-attestation side of the build provenance interop test (run by tests/it/build.rs).

  check BUNDLE.json   parses the DSSE payload of a custody bundle with the in-toto-attestation
                      Python bindings as a Statement v1 whose predicate is SLSA Provenance v1,
                      and runs the bindings' validators; exits non-zero on any problem.
"""

import base64
import json
import sys

from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement


def check(bundle_path):
    with open(bundle_path, "rb") as f:
        doc = json.load(f)
    envelope = doc.get("dsseEnvelope", doc)
    assert envelope["payloadType"] == "application/vnd.in-toto+json", envelope["payloadType"]
    payload = json.loads(base64.b64decode(envelope["payload"], validate=True))

    # Unknown fields are errors: custody must emit exactly the schema's fields.
    statement_pb = json_format.ParseDict(payload, statement_pb2.Statement())
    statement = Statement.copy_from_pb(statement_pb)
    statement.validate()
    assert statement.pb.predicate_type == "https://slsa.dev/provenance/v1"

    predicate = json_format.ParseDict(payload["predicate"], provenance_pb2.Provenance())
    definition = predicate.build_definition
    assert definition.build_type, "buildType is required"
    assert definition.HasField("external_parameters"), "externalParameters is required"
    assert predicate.run_details.builder.id, "runDetails.builder.id is required"
    descriptors = list(definition.resolved_dependencies)
    descriptors += list(predicate.run_details.byproducts)
    descriptors += list(predicate.run_details.builder.builder_dependencies)
    for rd in descriptors:
        ResourceDescriptor.copy_from_pb(rd).validate()
    print(
        "in-toto-attestation: valid Statement v1 + SLSA Provenance v1 with",
        len(statement.pb.subject),
        "subjects and",
        len(definition.resolved_dependencies),
        "resolved dependencies",
    )


if __name__ == "__main__":
    {"check": check}[sys.argv[1]](*sys.argv[2:])
