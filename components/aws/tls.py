"""Certificates: ACM validated through Route53 DNS, an existing ACM ARN, or self-signed (pulumi-tls).

Exactly one source, chosen by `TlsSpec.mode` (validated in the spec). For the ALB the result is an
ACM ARN (a self-signed pair is imported into ACM); for the Nginx edge it is a PEM pair whose private
key only ever travels as a secret (SSM SecureString), never in user data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls
from pulumi import Output, ResourceOptions

from components.spec.network import TlsSpec

# Self-signed: valid a year, renewed by the first `pulumi up` in its last month (pulumi-tls
# SelfSignedCert `early_renewal_hours`: the resource is then replaced). On the Nginx edge the
# certificate travels in the user data, so that renewal replaces the edge VM (README says so).
SELF_SIGNED_VALID_DAYS = 365
SELF_SIGNED_RENEW_DAYS_BEFORE = 30


@dataclass(frozen=True, kw_only=True)
class CertificateArgs:
    spec: TlsSpec
    hostnames: list[str] = field(default_factory=list)
    import_to_acm: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class Certificate(pulumi.ComponentResource):
    certificate_arn: Output[str] | None
    cert_pem: Output[str] | None
    private_key_pem: Output[str] | None

    # Long: three certificate modes side by side (existing, ACM with DNS validation, self-signed),
    # so each reads whole.
    def __init__(
        self, name: str, args: CertificateArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:tls:Certificate", name, None, opts)
        child = ResourceOptions(parent=self)
        spec = args.spec
        self.cert_pem = None
        self.private_key_pem = None
        if spec.mode == "existing":
            self.certificate_arn = Output.from_input(spec.certificate_arn or "")
        elif spec.mode == "acm":
            assert spec.domain and spec.zone_id  # guaranteed by TlsSpec
            sans = sorted({h for h in args.hostnames if h != spec.domain})
            cert = aws.acm.Certificate(
                f"{name}-acm",
                domain_name=spec.domain,
                subject_alternative_names=sans,
                validation_method="DNS",
                tags=args.tags,
                opts=child,
            )
            fqdns = []
            for domain in [spec.domain, *sans]:
                option = cert.domain_validation_options.apply(
                    lambda opts_, d=domain: next(o for o in opts_ if o.domain_name == d)
                )
                # A wildcard and its apex share one record: allow_overwrite keeps that idempotent.
                rec = aws.route53.Record(
                    f"{name}-validation-{domain.replace('*', 'wildcard')}",
                    zone_id=spec.zone_id,
                    name=option.apply(lambda o: o.resource_record_name),
                    type=option.apply(lambda o: o.resource_record_type),
                    records=[option.apply(lambda o: o.resource_record_value)],
                    ttl=300,
                    allow_overwrite=True,
                    opts=child,
                )
                fqdns.append(rec.fqdn)
            validation = aws.acm.CertificateValidation(
                f"{name}-validation",
                certificate_arn=cert.arn,
                validation_record_fqdns=fqdns,
                opts=child,
            )
            self.certificate_arn = validation.certificate_arn
        else:
            key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
            names = [h for h in args.hostnames if h] or ["localhost"]
            cert = tls.SelfSignedCert(
                f"{name}-self-signed",
                private_key_pem=key.private_key_pem,
                subject=tls.SelfSignedCertSubjectArgs(
                    common_name=names[0], organization="webstack"
                ),
                dns_names=names,
                validity_period_hours=24 * SELF_SIGNED_VALID_DAYS,
                early_renewal_hours=24 * SELF_SIGNED_RENEW_DAYS_BEFORE,
                allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
                opts=child,
            )
            self.cert_pem = cert.cert_pem
            self.private_key_pem = Output.secret(key.private_key_pem)
            if args.import_to_acm:
                imported = aws.acm.Certificate(
                    f"{name}-imported",
                    private_key=self.private_key_pem,
                    certificate_body=cert.cert_pem,
                    tags=args.tags,
                    opts=child,
                )
                self.certificate_arn = imported.arn
            else:
                self.certificate_arn = None
        self.register_outputs(
            {
                "certificate_arn": self.certificate_arn,
                "cert_pem": self.cert_pem,
                "private_key_pem": self.private_key_pem,
            }
        )
