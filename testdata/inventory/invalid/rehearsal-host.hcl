host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong", "rehearsal"]
# want: 3:13 Conflicting roles: A "rehearsal" host installs Y
}

host "rehearse-1" {
# want: 7:6 More than one rehearsal host: The host "rehearse-1" has role "rehearsal", and so does "kong-1"
  address = "10.0.0.21"
  roles   = ["rehearsal"]
}

host "rehearse-2" {
# want: 13:6 More than one rehearsal host: The host "rehearse-2" has role "rehearsal", and so does "kong-1"
  address = "10.0.0.22"
  roles   = ["rehearsal"]
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
