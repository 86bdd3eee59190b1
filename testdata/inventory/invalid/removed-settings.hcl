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
    source = "repository"
    repository {
# want: 15:5 Removed setting: upgrade.package.repository is no longer part of the inventory language
      url = "https://example.com/kong"
    }
  }
}

verify {
  smoke {
    path   = "/"
    method = "GET"
# want: 25:5 Removed setting: verify.smoke.method is no longer part of the inventory language: smoke requests are always GETs
  }
}

timeouts {
  freeze = "2m"
# want: 31:3 Removed setting: timeouts.freeze is no longer part of the inventory language
}
