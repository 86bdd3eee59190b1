ssh {
  host_key_policy = "accept_new"
# want: 2:21 Invalid value for host_key_policy: "accept_new" is not a valid host_key_policy. Did you mean "accept-new"?
}

host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

database {
  host         = "10.0.0.5"
  password_env = "PG"
}

upgrade {
  to         = "3.4.2"
  on_failure = "pasue"
# want: 18:16 Invalid value for on_failure: "pasue" is not a valid on_failure. Did you mean "pause"?
  package {
    source = "file"
    dir    = "packages"
  }
}
