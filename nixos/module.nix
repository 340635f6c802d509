# NixOS module for a PhotonCloud node: runs `photon up` under systemd.
# Usage (in configuration.nix):
#   imports = [ ./path/to/photoncloud/nixos/module.nix ];
#   services.photoncloud = { enable = true; package = <a derivation providing bin/photon>; };
# Cluster roles (one service per process) arrive with the components that need them.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.photoncloud;
  toml = pkgs.formats.toml { };
in
{
  options.services.photoncloud = {
    enable = lib.mkEnableOption "a PhotonCloud node (photon up)";

    package = lib.mkOption {
      type = lib.types.package;
      description = "Derivation providing bin/photon (the `npm run compile` executable).";
    };

    dataDir = lib.mkOption {
      type = lib.types.path;
      default = "/var/lib/photoncloud";
      description = "Data directory ([node] data_dir).";
    };

    settings = lib.mkOption {
      type = toml.type;
      default = { };
      example = { admin.http_port = 7070; node.bind_host = "0.0.0.0"; };
      description = "photon.toml contents; validated at start (`photon config check`).";
    };
  };

  config = lib.mkIf cfg.enable {
    systemd.services.photoncloud = {
      description = "PhotonCloud node";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      serviceConfig = {
        ExecStart = "${cfg.package}/bin/photon up --config ${toml.generate "photon.toml" cfg.settings} --data-dir ${cfg.dataDir}";
        StateDirectory = "photoncloud";
        # SIGTERM drains in-flight requests and exits 0 (lib/shutdown.ts).
        KillSignal = "SIGTERM";
        TimeoutStopSec = 30;
        Restart = "on-failure";
        LimitNOFILE = 20000;
      };
    };
  };
}
