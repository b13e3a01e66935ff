package ipmi

import (
	"context"
	"fmt"

	"github.com/bougou/go-ipmi/pkg/types"

	"github.com/drydock-go/drydock/internal/driver/oob"
)

// Inventory reads what the BMC tells about itself and the machine:
//
//	bmc:       device_id, device_revision, firmware ("3.14"), ipmi_version ("2.0"),
//	           manufacturer_id (IANA number), product_id, available
//	chassis:   power, power_restore_policy, last_power_event (list), power_fault,
//	           power_control_fault, power_overload, interlock, cooling_fault, drive_fault,
//	           intrusion
//	fru:       board_manufacturer, board_product, board_serial, board_part_number,
//	           product_manufacturer, product_name, product_part_number, product_version,
//	           product_serial, product_asset_tag, chassis_part_number, chassis_serial
//	           (the fields the BMC fills in)
//	next_boot: device ("pxe", "disk", ...), persistent, uefi — when the BMC reports valid
//	           boot flags
//
// Device ID and chassis status are required. The FRU inventory and the boot flags are optional:
// when the BMC refuses them or answers with something go-ipmi cannot decode they are left out
// (with the reason in fru_unavailable); only a failure to exchange with the BMC is an error.
func (s *session) Inventory(ctx context.Context) (map[string]any, error) {
	inv := map[string]any{}

	id, err := s.c.GetDeviceID(ctx)
	if err != nil {
		return nil, classify("ipmi Get Device ID from "+s.addr, err)
	}
	inv["bmc"] = map[string]any{
		"device_id":       int(id.DeviceID),
		"device_revision": int(id.DeviceRevision),
		"firmware":        fmt.Sprintf("%d.%02d", id.MajorFirmwareRevision, id.MinorFirmwareRevision),
		"ipmi_version":    fmt.Sprintf("%d.%d", id.MajorIPMIVersion, id.MinorIPMIVersion),
		"manufacturer_id": int(id.ManufacturerID),
		"product_id":      int(id.ProductID),
		"available":       id.DeviceAvailable,
	}

	st, err := s.c.GetChassisStatus(ctx)
	if err != nil {
		return nil, classify("ipmi Get Chassis Status from "+s.addr, err)
	}
	power := oob.Off
	if st.PowerIsOn {
		power = oob.On
	}
	var last []string
	for _, e := range []struct {
		set  bool
		name string
	}{
		{st.LastPowerOnByCommand, "command"},
		{st.LastPowerDownByPowerFault, "power_fault"},
		{st.LastPowerDownByPowerInterlockActivated, "interlock"},
		{st.LastPowerDownByPowerOverload, "overload"},
		{st.ACFailed, "ac_failed"},
	} {
		if e.set {
			last = append(last, e.name)
		}
	}
	if last == nil {
		last = []string{}
	}
	inv["chassis"] = map[string]any{
		"power":                power,
		"power_restore_policy": st.PowerRestorePolicy.String(),
		"last_power_event":     last,
		"power_fault":          st.PowerFault,
		"power_control_fault":  st.PowerControlFault,
		"power_overload":       st.PowerOverload,
		"interlock":            st.InterLock,
		"cooling_fault":        st.CollingFanFault,
		"drive_fault":          st.DriveFault,
		"intrusion":            st.ChassisIntrusionActive,
	}

	fru, err := s.fru(ctx)
	switch {
	case err != nil && transport(err):
		return nil, classify("ipmi FRU inventory from "+s.addr, err)
	case err != nil:
		inv["fru_unavailable"] = oneLine(err.Error())
	case len(fru) > 0:
		inv["fru"] = fru
	default:
		inv["fru_unavailable"] = "the BMC has no FRU inventory"
	}

	flags := &types.BootOptionParam_BootFlags{}
	err = s.c.GetSystemBootOptionsParamFor(ctx, flags)
	switch {
	case err != nil && transport(err):
		return nil, classify("ipmi Get System Boot Options from "+s.addr, err)
	case err == nil && flags.BootFlagsValid:
		inv["next_boot"] = map[string]any{
			"device":     bootDeviceName(flags.BootDeviceSelector),
			"persistent": flags.Persist,
			"uefi":       flags.BIOSBootType == types.BIOSBootTypeEFI,
		}
	}
	return inv, nil
}

// fru reads FRU device 0 into named fields; empty when the BMC has no FRU data.
func (s *session) fru(ctx context.Context) (map[string]any, error) {
	f, err := s.c.GetFRU(ctx, 0, "builtin")
	if err != nil {
		return nil, err
	}
	if f == nil || f.DeviceNotPresent {
		return nil, nil
	}
	out := map[string]any{}
	put := func(key string, tl types.TypeLength, raw []byte) {
		if len(raw) == 0 {
			return
		}
		if v := types.FRUFieldString(tl, raw); v != "" {
			out[key] = v
		}
	}
	if b := f.BoardInfoArea; b != nil {
		put("board_manufacturer", b.ManufacturerTypeLength, b.Manufacturer)
		put("board_product", b.ProductNameTypeLength, b.ProductName)
		put("board_serial", b.SerialNumberTypeLength, b.SerialNumber)
		put("board_part_number", b.PartNumberTypeLength, b.PartNumber)
	}
	if p := f.ProductInfoArea; p != nil {
		put("product_manufacturer", p.ManufacturerTypeLength, p.Manufacturer)
		put("product_name", p.NameTypeLength, p.Name)
		put("product_part_number", p.PartModelTypeLength, p.PartModel)
		put("product_version", p.VersionTypeLength, p.Version)
		put("product_serial", p.SerialNumberTypeLength, p.SerialNumber)
		put("product_asset_tag", p.AssetTagTypeLength, p.AssetTag)
	}
	if c := f.ChassisInfoArea; c != nil {
		put("chassis_part_number", c.PartNumberTypeLength, c.PartNumber)
		put("chassis_serial", c.SerialNumberTypeLength, c.SerialNumber)
	}
	return out, nil
}

// bootDeviceName names a boot device selector like ipmisim and driver.BootDevice do.
func bootDeviceName(sel types.BootDeviceSelector) string {
	switch sel {
	case types.BootDeviceSelectorNoOverride:
		return "none"
	case types.BootDeviceSelectorForcePXE:
		return "pxe"
	case types.BootDeviceSelectorForceHardDrive:
		return "disk"
	case types.BootDeviceSelectorForceHardDriveSafe:
		return "disk-safe"
	case types.BootDeviceSelectorForceDiagnosticPartition:
		return "diagnostic"
	case types.BootDeviceSelectorForceCDROM:
		return "cdrom"
	case types.BootDeviceSelectorForceBIOSSetup:
		return "bios"
	case types.BootDeviceSelectorForceRemoteFloppy:
		return "remote-floppy"
	case types.BootDeviceSelectorForceRemoteCDROM:
		return "remote-cdrom"
	case types.BootDeviceSelectorForceRemoteMedia:
		return "remote-media"
	case types.BootDeviceSelectorForceRemoteHardDrive:
		return "remote-disk"
	case types.BootDeviceSelectorForceFloppy:
		return "floppy"
	}
	return fmt.Sprintf("selector 0x%02x", uint8(sel))
}
