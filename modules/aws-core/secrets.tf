# The secret is created empty: Terraform never sees the token. Put the value yourself (JSON with the POD and the
# token, see README), e.g.
#   aws secretsmanager put-secret-value --secret-id <arn> --secret-string file://qualys-secret.json
resource "aws_secretsmanager_secret" "qualys" {
  #checkov:skip=CKV2_AWS_57:Qualys issues and rotates the access token; there is no AWS-side rotation to run
  count = var.create_qualys_secret ? 1 : 0

  name                    = local.qualys_secret_name
  description             = "Qualys POD and access token (JSON) for qscan scanners (${var.name_prefix}); value set outside Terraform"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.qualys_secret_recovery_window_days
  tags                    = local.tags
}
