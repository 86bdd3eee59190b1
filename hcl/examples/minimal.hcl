# The smallest useful inventory: one Kong node, its database, the target
# version and where the packages are. Everything else takes its default
# (user root, keys from ssh-agent/~/.ssh via ssh_config, strict host keys).

host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

database {
  host         = "10.0.0.5"
  password_env = "KONG_PG_PASSWORD"
}

upgrade {
  to = "3.4.2"

  package {
    source = "file"
    dir    = "packages"
  }
}
