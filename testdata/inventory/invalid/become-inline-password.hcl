ssh {
  user = "deploy"
  become {
    password = "s3cret"
# want: 4:5 Inline password not allowed: The become password must not be written into the inventory.
  }
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
  to = "3.4.2"
  package {
    source = "file"
    dir    = "packages"
  }
}
