# The shape `make lab-up` writes to build/lab/hosts.hcl: a PostgreSQL host and
# three Kong nodes on the lab bridge (198.18.0.0/15), reached as root with the
# lab's own key, host keys checked against the lab's known_hosts.

ssh {
  user               = "root"
  private_keys       = ["id_ed25519"]
  known_hosts        = ["known_hosts"]
  host_key_policy    = "strict"
  connect_timeout    = "10s"
  keepalive          = "15s"
  concurrency        = 16
  upload_concurrency = 8
}

host "db" {
  address = "198.18.0.2"
  roles   = ["database"]
}

host "kong-1" {
  address = "198.18.0.11"
  roles   = ["kong"]
  tags    = ["lab"]
}

host "kong-2" {
  address = "198.18.0.12"
  roles   = ["kong"]
  tags    = ["lab"]
}

host "kong-3" {
  address = "198.18.0.13"
  roles   = ["kong"]
  tags    = ["lab"]
}

group "kong" {
  hosts = ["kong-1", "kong-2", "kong-3"]
}

database {
  host          = "198.18.0.2"
  port          = 5432
  name          = "kong"
  user          = "kong"
  tls_mode      = "disable"
  password_file = "pg_password"
  tools_host    = "db"
}

upgrade {
  from            = "2.8.4"
  to              = "3.4.2"
  edition         = "oss"
  service_manager = "cli"
  on_failure      = "rollback"

  package {
    source = "file"
    dir    = "../packages"
  }
}

verify {
  soak = "10s"

  smoke {
    path   = "/lab"
    status = 200
  }

  gate {
    max_error_rate = 0.01
  }
}

backup {
  dir       = "/var/backups/kongctl"
  local_dir = "backups"
  retention = 5
}

timeouts {
  stop       = "60s"
  install    = "5m"
  migrations = "10m"
  start      = "60s"
}
