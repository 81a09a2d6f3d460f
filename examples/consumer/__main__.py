"""Pulumi program of the storefront team: `pulumi up` here deploys their platform."""

import pulumi
from storefront import build_storefront

for key, value in build_storefront(pulumi.get_stack()).items():
    pulumi.export(key, value)
