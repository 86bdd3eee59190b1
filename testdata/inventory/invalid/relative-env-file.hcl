host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

database {
  host         = "10.0.0.5"
  password_env = "PG"
}

upgrade {
  to               = "3.4.2"
  service_env_file = "kong_env.conf"
# want: 13:22 Relative remote path: service_env_file is a path on the Kong nodes and must be absolute, such as "/etc/kong/kong.conf".
  package {
    source = "file"
    dir    = "packages"
  }
}
