host "cp-1" {
  address = "10.0.0.11"
  roles   = ["control_plane"]
}

host "dp-1" {
  address = "10.0.0.21"
  roles   = ["data_plane"]
}

database {
  host         = "10.0.0.5"
  password_env = "PG"
}

upgrade {
  to                 = "3.4.2"
  data_planes        = "rolled"
# want: 18:24 Invalid value for data_planes: "rolled" is not a valid data_planes.
  batch              = 0
# want: 20:24 Number out of range: The argument "batch" must be between 1 and 1000.
  package {
    source = "file"
    dir    = "packages"
  }
}
