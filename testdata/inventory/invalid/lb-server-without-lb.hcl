host "kong-1" {
  address   = "10.0.0.11"
  roles     = ["kong"]
  lb_server = "k1"
# want: 4:15 lb_server without a load balancer: The host "kong-1" names its load balancer server
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
