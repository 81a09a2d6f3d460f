"""What the ALB edge is decided to be, without Pulumi: read by the Alb component, `webstack render`
and the diagram."""

# TLS 1.3 and 1.2 only, forward-secret ciphers (AWS: "Security policies for your Application Load
# Balancer", ELBSecurityPolicy-TLS13-1-2-2021-06 is the recommended policy).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
