"""The deedbox policy pack. Only assembles: the rules live in ``deedbox.policy`` (testable),
because constructing a ``PolicyPack`` starts the analyzer's gRPC server and blocks."""

from pulumi_policy import EnforcementLevel, PolicyPack

from deedbox.policy import POLICIES

PolicyPack(name="deedbox", policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
