#!/usr/bin/env python3
"""Drive a Redfish service with OpenStack's sushy library (Debian python3-sushy).

Used by internal/driver/redfish/redfishsim's conformance test against the
simulator; prints one "key=value" line per observation for the test to check.

usage: sushy_client.py BASE_URL USER PASSWORD SYSTEM_ID CA_FILE_OR_-
"""

import sys

import sushy
from sushy import auth as sushy_auth
from sushy import exceptions


def main():
    base_url, user, password, system_id, ca = sys.argv[1:6]
    verify = ca if ca != "-" else True

    session_auth = sushy_auth.SessionAuth(username=user, password=password)
    root = sushy.Sushy(base_url, verify=verify, auth=session_auth)
    print("redfish_version=%s" % root.redfish_version)
    print("session_token=%s" % ("yes" if session_auth.get_session_key() else "no"))

    systems = root.get_system_collection()
    print("systems=%s" % ",".join(sorted(m.rsplit("/", 1)[-1] for m in systems.members_identities)))

    system = root.get_system("/redfish/v1/Systems/%s" % system_id)
    print("power_before=%s" % system.power_state.value)
    print("allowed_resets=%s" % ",".join(sorted(v.value for v in system.get_allowed_reset_system_values())))
    print("allowed_boot=%s" % ",".join(sorted(v.value for v in system.get_allowed_system_boot_source_values())))
    macs = sorted(nic.mac_address for nic in system.ethernet_interfaces.get_members()
                  if nic.mac_address)
    print("macs=%s" % ",".join(macs))

    # Invalid reset type: sushy refuses it client-side from the allowable values.
    try:
        system.reset_system("NoSuchReset")
        print("bad_reset=accepted")
    except exceptions.InvalidParameterValueError:
        print("bad_reset=InvalidParameterValueError")

    # A value the service does not accept, sent raw: the service answers 400
    # with a Redfish error body, which sushy turns into BadRequestError.
    try:
        root._conn.patch(system.path, data={"Boot": {"BootSourceOverrideTarget": "Floppy"}})
        print("bad_patch=accepted")
    except exceptions.BadRequestError as e:
        print("bad_patch=%d %s" % (e.status_code, e.code))

    system.set_system_boot_options(sushy.BOOT_SOURCE_TARGET_PXE,
                                   enabled=sushy.BOOT_SOURCE_ENABLED_ONCE)
    system.refresh()
    print("boot_after_patch=%s/%s" % (system.boot.enabled.value, system.boot.target.value))

    system.reset_system(sushy.RESET_ON)
    system.refresh()
    print("power_after_on=%s" % system.power_state.value)
    print("boot_after_on=%s/%s" % (system.boot.enabled.value, system.boot.target.value))

    system.reset_system(sushy.RESET_FORCE_OFF)
    system.refresh()
    print("power_after_off=%s" % system.power_state.value)

    session_auth.close()
    print("logged_out=%s" % ("yes" if not session_auth.get_session_key() else "no"))


if __name__ == "__main__":
    main()
