host "kong-1" {
  address   = "10.0.0.11"
  roles     = ["kong"]
  lb_server = "k1"
# want: 4:15 lb_server without a load balancer: The host "kong-1" names its load balancer server
}

host "kong-2" {
  address   = "10.0.0.12"
  roles     = ["kong"]
  lb_server = "k2; shutdown sessions server kong/k1"
# want: 11:15 Invalid load balancer name: The name "k2; shutdown sessions server kong/k1" may hold only
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
