output "stack_set_name" {
  description = "Name of the stack set (`<name_prefix>-spoke`)."
  value       = aws_cloudformation_stack_set.this.name
}

output "stack_set_id" {
  description = "Id of the stack set."
  value       = aws_cloudformation_stack_set.this.stack_set_id
}

output "stack_set_arn" {
  description = "ARN of the stack set."
  value       = aws_cloudformation_stack_set.this.arn
}

output "regions" {
  description = "The regions with stack instances for the organizational units."
  value       = sort(keys(aws_cloudformation_stack_set_instance.this))
}
