# A production fleet behind a bastion: a non-root user with sudo, packages
# from the nodes' own Kong repository (exactly the target version), operator hooks and
# metric gates. Variables can be overridden with KONGCTL_VAR_<name>.

variable "target" {
  description = "Kong version to upgrade to."
  default     = "3.4.2"
}

variable "dc" {
  default = "fra1"
}

ssh {
  user            = "deploy"
  private_keys    = ["~/.ssh/kong_deploy_ed25519"]
  use_agent       = true
  known_hosts     = ["known_hosts"]
  host_key_policy = "strict"
  jump            = ["bastion-1"]
  connect_timeout = "15s"
  keepalive       = "30s"
  concurrency     = 8

  become {
    method       = "sudo"
    password_env = "KONGCTL_BECOME_PASSWORD"
  }
}

host "bastion-1" {
  address  = "bastion.${var.dc}.example.com"
  roles    = ["bastion"]
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

  ssh {
    user = "jump"
  }
}

host "pg-1" {
  address = "10.20.0.5"
  roles   = ["database"]
  tags    = [var.dc]
}

host "kong-a1" {
  address = "10.20.1.11"
  roles   = ["kong"]
  tags    = [var.dc, "edge"]
}

host "kong-a2" {
  address = "10.20.1.12"
  roles   = ["kong"]
  tags    = [var.dc, "edge"]
}

host "kong-b1" {
  address = "10.20.2.11"
  port    = 2222
  roles   = ["kong"]
  tags    = [var.dc, "internal"]
}

group "edge" {
  hosts = ["kong-a1", "kong-a2"]
}

group "internal" {
  hosts = ["kong-b1"]
}

database {
  host          = "10.20.0.5"
  port          = 5432
  name          = "kong"
  user          = "kong"
  schema        = "public"
  tls_mode      = "verify-full"
  password_file = "~/.config/kongctl/${lower(var.dc)}-pg-password"
  tools_host    = "pg-1"
}

upgrade {
  from            = "3.4.1"
  to              = var.target
  edition         = "oss"
  kong_conf       = "/etc/kong/kong.conf"
  prefix          = "/usr/local/kong"
  service_manager = "systemd"
  migration_host  = "kong-b1"
  on_failure      = "pause"
  stop            = "sequential"           # one node after the other, in order
  order           = ["internal", "edge"]

  package {
    source = "repository"               # the nodes' configured apt/dnf repositories
  }
}

hook "before_stop" {
  command = "curl -fsS -X POST https://lb.example.com/api/drain?pool=kong-${var.dc}"
  on      = "bastion"
  timeout = "2m"
}

hook "after_start" {
  command = "logger -t kongctl 'kong upgraded to ${var.target}'"
  on      = "edge"
}

hook "on_rollback" {
  command = format("notify-oncall --service kong --dc %s --message %q", var.dc, "kong upgrade rolled back")
  on      = "bastion"
}

verify {
  soak = "5m"

  health {
    timeout  = "2m"
    interval = "5s"
  }

  smoke {
    name   = "status"
    path   = "/status"
    status = 200
  }

  smoke {
    name   = "api"
    path   = "/v1/ping"
    host   = "api.example.com"
    status = 200
  }

  gate {
    max_error_rate  = 0.005
    max_5xx         = 10
    max_latency_p99 = "750ms"
    min_requests    = 100
  }
}

backup {
  dir       = "/var/backups/kongctl"
  local_dir = "~/kongctl-backups/${var.dc}"
  retention = 10
}

# Enterprise fleets with RBAC enforced: the Admin API token (Kong-Admin-Token),
# read from kongctl's environment; admin_token_file = "path" reads a file.
kong {
  admin_token_env = "KONG_ADMIN_TOKEN"
}

timeouts {
  preflight  = "5m"
  backup     = "1h"
  stop       = "2m"
  install    = "15m"
  migrations = "45m"
  start      = "3m"
  verify     = "20m"
  rollback   = "1h"
  hook       = "5m"
}
