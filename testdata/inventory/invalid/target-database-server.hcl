host "lb" {
  address = "10.0.0.4"
  roles   = ["load_balancer"]
}
host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}
host "spare-1" {
  address = "10.0.0.21"
  roles   = ["spare"]
}
load_balancer "haproxy" {
  host    = "lb"
  backend = "kong"
}
database {
  host         = "10.0.0.5"
  password_env = "PG"
}
upgrade {
  to       = "3.4.2"
  strategy = "dual-cluster"
  target_database = {
    host     = "10.0.0.6"
    port     = "five"
    name     = "Kong-Y"
    password = "hunter2"
    schema   = "other"
    tls_mode = "sometimes"
  }
# want: 26:16 Incorrect attribute value type: Inappropriate value for attribute "port": a number is required
# want: 27:16 Invalid target database name: target_database "Kong-Y"
# want: 28:5 Inline password not allowed: The target database password must not be written
# want: 29:5 Unsupported target_database attribute: target_database on another server takes host, port, name
# want: 30:16 Invalid value for tls_mode
  package {
    source = "file"
    dir    = "packages"
  }
}
