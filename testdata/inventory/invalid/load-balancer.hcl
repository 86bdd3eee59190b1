host "lb" {
  address = "10.0.0.4"
  roles   = ["load_balancer"]
}

host "kong-1" {
  address   = "10.0.0.11"
  roles     = ["kong"]
  lb_server = "k1"
}

host "kong-2" {
  address   = "10.0.0.12"
  roles     = ["kong"]
  lb_server = "k1"
# want: 15:15 Duplicate load balancer server: The hosts "kong-2" and "kong-1"
}

database {
  host         = "10.0.0.5"
  password_env = "PG"
}

upgrade {
  to = "3.4.2"
  package {
    source = "file"
    dir    = "packages"
  }
}

load_balancer "haproxy" {
# want: 32:25 Missing required argument: The argument "backend" is required
  host          = "lbb"
# want: 34:19 Unknown load balancer host: host names "lbb", but no host of that name is declared. Did you mean "lb"?
  socket        = "admin.sock"
# want: 36:19 Invalid socket: The socket "admin.sock" must be an absolute path
  drain_timeout = "30s"
}

load_balancer "nginx" {
# want: 41:1 Duplicate load_balancer block: Only one load_balancer block is allowed; the first one is at load-balancer.hcl:32:1
  host    = "lb"
  backend = "kong"
}
