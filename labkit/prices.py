"""AWS's public on-demand list prices the course computes costs with (us-east-1, US dollars), and when they
were read. Prices change: a lab that prints a cost says it is as of PRICES_AS_OF."""

PRICES_AS_OF = "2025-06 (us-east-1 list prices from aws.amazon.com/pricing; check them for today's)"
HOURS_PER_MONTH = 730

LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000166667  # x86
HTTP_API_PER_REQUEST = 1.00 / 1_000_000  # the first 300 million a month
DYNAMODB_PER_READ_UNIT = 0.125 / 1_000_000  # on demand; an eventually consistent read of up to 4 KB is half a unit
DYNAMODB_UNITS_PER_READ = 0.5
CACHE_T4G_MICRO_VALKEY_PER_HOUR = 0.0128  # Redis OSS: 0.016
FARGATE_PER_VCPU_HOUR = 0.04048
FARGATE_PER_GB_HOUR = 0.004445
