import HushAPI

// hush: the command line (HushCommand); everything else lives in HushAPI.
HushCommand.main()
