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
  batch              = 2
# want: 18:24 Data planes not rolled: batch applies to data_planes = "rolling"
  data_plane_timeout = "90s"
# want: 20:24 Data planes not rolled: data_plane_timeout applies to data_planes = "rolling"
  package {
    source = "file"
    dir    = "packages"
  }
}
