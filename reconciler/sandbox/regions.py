"""Azure region names as ARM spells them in answers: ``eastus`` is written back ``East US``.

Azure accepts a region in any spelling (``eastus``, ``East US``, ``EastUS``) and, for some
members — gallery image versions' ``targetRegions[].name`` and their replication summary —
answers with the region's display name, whatever was sent. This table is the public
cloud's regions and the sovereign clouds' (``az account list-locations``: name →
displayName). It is the sandbox's own copy on purpose: the product keeps its table apart,
so a mistake in one is caught by the other rather than agreed with.
"""

from __future__ import annotations

DISPLAY_NAMES: dict[str, str] = {
    # Americas
    "eastus": "East US",
    "eastus2": "East US 2",
    "centralus": "Central US",
    "northcentralus": "North Central US",
    "southcentralus": "South Central US",
    "westcentralus": "West Central US",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "brazilsouth": "Brazil South",
    "brazilsoutheast": "Brazil Southeast",
    "mexicocentral": "Mexico Central",
    "chilecentral": "Chile Central",
    "centraluseuap": "Central US EUAP",
    "eastus2euap": "East US 2 EUAP",
    # Europe
    "northeurope": "North Europe",
    "westeurope": "West Europe",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "francecentral": "France Central",
    "francesouth": "France South",
    "germanywestcentral": "Germany West Central",
    "germanynorth": "Germany North",
    "swedencentral": "Sweden Central",
    "swedensouth": "Sweden South",
    "norwayeast": "Norway East",
    "norwaywest": "Norway West",
    "switzerlandnorth": "Switzerland North",
    "switzerlandwest": "Switzerland West",
    "italynorth": "Italy North",
    "polandcentral": "Poland Central",
    "spaincentral": "Spain Central",
    "austriaeast": "Austria East",
    "belgiumcentral": "Belgium Central",
    # Asia Pacific, Middle East, Africa
    "eastasia": "East Asia",
    "southeastasia": "Southeast Asia",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
    "koreacentral": "Korea Central",
    "koreasouth": "Korea South",
    "centralindia": "Central India",
    "southindia": "South India",
    "westindia": "West India",
    "jioindiacentral": "Jio India Central",
    "jioindiawest": "Jio India West",
    "australiaeast": "Australia East",
    "australiasoutheast": "Australia Southeast",
    "australiacentral": "Australia Central",
    "australiacentral2": "Australia Central 2",
    "newzealandnorth": "New Zealand North",
    "indonesiacentral": "Indonesia Central",
    "malaysiawest": "Malaysia West",
    "uaenorth": "UAE North",
    "uaecentral": "UAE Central",
    "qatarcentral": "Qatar Central",
    "israelcentral": "Israel Central",
    "southafricanorth": "South Africa North",
    "southafricawest": "South Africa West",
    # Sovereign clouds
    "usgovvirginia": "USGov Virginia",
    "usgovarizona": "USGov Arizona",
    "usgovtexas": "USGov Texas",
    "usdodeast": "USDoD East",
    "usdodcentral": "USDoD Central",
    "chinaeast": "China East",
    "chinaeast2": "China East 2",
    "chinaeast3": "China East 3",
    "chinanorth": "China North",
    "chinanorth2": "China North 2",
    "chinanorth3": "China North 3",
}


def display_name(region: str) -> str:
    """``eastus`` / ``East US`` / ``EastUS`` → ``East US``; an unknown region as it was sent."""
    return DISPLAY_NAMES.get(region.replace(" ", "").lower(), region)
