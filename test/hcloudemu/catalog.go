package hcloudemu

import (
	"fmt"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// The catalog: locations, datacenters, server types, images and load
// balancer types, modeled on Hetzner's public catalog. It is static and the
// same for every project.

var catalogLocations = []schema.Location{
	{ID: 1, Name: "fsn1", Description: "Falkenstein DC Park 1", Country: "DE", City: "Falkenstein", Latitude: 50.47612, Longitude: 12.370071, NetworkZone: "eu-central"},
	{ID: 2, Name: "nbg1", Description: "Nuremberg DC Park 1", Country: "DE", City: "Nuremberg", Latitude: 49.452102, Longitude: 11.076665, NetworkZone: "eu-central"},
	{ID: 3, Name: "hel1", Description: "Helsinki DC Park 1", Country: "FI", City: "Helsinki", Latitude: 60.169855, Longitude: 24.938379, NetworkZone: "eu-central"},
	{ID: 4, Name: "ash", Description: "Ashburn, VA", Country: "US", City: "Ashburn, VA", Latitude: 39.045821, Longitude: -77.487073, NetworkZone: "us-east"},
	{ID: 5, Name: "hil", Description: "Hillsboro, OR", Country: "US", City: "Hillsboro, OR", Latitude: 45.54222, Longitude: -122.951924, NetworkZone: "us-west"},
	{ID: 6, Name: "sin", Description: "Singapore", Country: "SG", City: "Singapore", Latitude: 1.283333, Longitude: 103.833333, NetworkZone: "ap-southeast"},
}

// datacenterSpec is a datacenter with Hetzner's ID; each location has one.
type datacenterSpec struct {
	id             int64
	name, location string
	desc           string
}

var catalogDatacenters = []datacenterSpec{
	{2, "nbg1-dc3", "nbg1", "Nuremberg 1 virtual DC 3"},
	{3, "hel1-dc2", "hel1", "Helsinki 1 virtual DC 2"},
	{4, "fsn1-dc14", "fsn1", "Falkenstein 1 virtual DC 14"},
	{5, "ash-dc1", "ash", "Ashburn virtual DC 1"},
	{6, "hil-dc1", "hil", "Hillsboro virtual DC 1"},
	{7, "sin-dc1", "sin", "Singapore virtual DC 1"},
}

// datacenterOf is the datacenter of a location.
func datacenterOf(location string) datacenterSpec {
	dc, _ := findSpec(catalogDatacenters, func(d datacenterSpec) bool { return d.location == location })
	return dc
}

var networkZones = map[string]bool{"eu-central": true, "us-east": true, "us-west": true, "ap-southeast": true}

type serverTypeSpec struct {
	id                        int64
	name, desc, cpu, arch, ct string
	cores                     int
	memory                    float32
	disk                      int
	monthly                   float64
	locations                 []string
	// deprecated: announced and unavailable after; a type past its date
	// is listed but cannot be ordered.
	deprecated *schema.DeprecationInfo
}

var euLocs = []string{"fsn1", "nbg1", "hel1"}
var allLocs = []string{"fsn1", "nbg1", "hel1", "ash", "hil", "sin"}

// The first generation of CX types: deprecated on 2024-06-06, unavailable
// in every location since 2024-09-06.
var cxGen1 = &schema.DeprecationInfo{Announced: time.Date(2024, 6, 6, 9, 0, 0, 0, time.UTC),
	UnavailableAfter: time.Date(2024, 9, 6, 0, 0, 0, 0, time.UTC)}

var serverTypeSpecs = []serverTypeSpec{
	{1, "cx11", "CX11", "shared", "x86", "cost_optimized", 1, 2, 20, 3.29, euLocs, cxGen1},
	{3, "cx21", "CX21", "shared", "x86", "cost_optimized", 2, 4, 40, 5.83, euLocs, cxGen1},
	{5, "cx31", "CX31", "shared", "x86", "cost_optimized", 2, 8, 80, 10.59, euLocs, cxGen1},
	{7, "cx41", "CX41", "shared", "x86", "cost_optimized", 4, 16, 160, 19.52, euLocs, cxGen1},
	{9, "cx51", "CX51", "shared", "x86", "cost_optimized", 8, 32, 240, 38.56, euLocs, cxGen1},
	{22, "cpx11", "CPX 11", "shared", "x86", "regular_purpose", 2, 2, 40, 4.99, allLocs, nil},
	{23, "cpx21", "CPX 21", "shared", "x86", "regular_purpose", 3, 4, 80, 8.99, allLocs, nil},
	{24, "cpx31", "CPX 31", "shared", "x86", "regular_purpose", 4, 8, 160, 16.49, allLocs, nil},
	{25, "cpx41", "CPX 41", "shared", "x86", "regular_purpose", 8, 16, 240, 30.49, allLocs, nil},
	{26, "cpx51", "CPX 51", "shared", "x86", "regular_purpose", 16, 32, 360, 65.99, allLocs, nil},
	{45, "cax11", "CAX11", "shared", "arm", "cost_optimized", 2, 4, 40, 3.79, euLocs, nil},
	{93, "cax21", "CAX21", "shared", "arm", "cost_optimized", 4, 8, 80, 6.49, euLocs, nil},
	{94, "cax31", "CAX31", "shared", "arm", "cost_optimized", 8, 16, 160, 12.49, euLocs, nil},
	{95, "cax41", "CAX41", "shared", "arm", "cost_optimized", 16, 32, 320, 24.49, euLocs, nil},
	{96, "ccx13", "CCX13 Dedicated CPU", "dedicated", "x86", "general_purpose", 2, 8, 80, 12.49, allLocs, nil},
	{97, "ccx23", "CCX23 Dedicated CPU", "dedicated", "x86", "general_purpose", 4, 16, 160, 24.49, allLocs, nil},
	{98, "ccx33", "CCX33 Dedicated CPU", "dedicated", "x86", "general_purpose", 8, 32, 240, 48.49, allLocs, nil},
	{99, "ccx43", "CCX43 Dedicated CPU", "dedicated", "x86", "general_purpose", 16, 64, 360, 96.49, allLocs, nil},
	{100, "ccx53", "CCX53 Dedicated CPU", "dedicated", "x86", "general_purpose", 32, 128, 600, 192.49, allLocs, nil},
	{101, "ccx63", "CCX63 Dedicated CPU", "dedicated", "x86", "general_purpose", 48, 192, 960, 288.49, allLocs, nil},
	{104, "cx22", "CX22", "shared", "x86", "cost_optimized", 2, 4, 40, 3.79, euLocs, nil},
	{105, "cx32", "CX32", "shared", "x86", "cost_optimized", 4, 8, 80, 6.80, euLocs, nil},
	{106, "cx42", "CX42", "shared", "x86", "cost_optimized", 8, 16, 160, 16.40, euLocs, nil},
	{107, "cx52", "CX52", "shared", "x86", "cost_optimized", 16, 32, 320, 32.40, euLocs, nil},
	{108, "cpx12", "CPX12", "shared", "x86", "regular_purpose", 1, 2, 40, 4.99, euLocs, nil},
	{109, "cpx22", "CPX22", "shared", "x86", "regular_purpose", 2, 4, 80, 7.99, euLocs, nil},
	{110, "cpx32", "CPX32", "shared", "x86", "regular_purpose", 4, 8, 160, 13.99, euLocs, nil},
	{111, "cpx42", "CPX42", "shared", "x86", "regular_purpose", 8, 16, 320, 25.49, euLocs, nil},
	{112, "cpx52", "CPX52", "shared", "x86", "regular_purpose", 12, 24, 480, 36.49, euLocs, nil},
	{113, "cpx62", "CPX62", "shared", "x86", "regular_purpose", 16, 32, 640, 49.49, euLocs, nil},
	{114, "cx23", "CX23", "shared", "x86", "cost_optimized", 2, 4, 40, 3.49, euLocs, nil},
	{115, "cx33", "CX33", "shared", "x86", "cost_optimized", 4, 8, 80, 5.49, euLocs, nil},
	{116, "cx43", "CX43", "shared", "x86", "cost_optimized", 8, 16, 160, 9.49, euLocs, nil},
	{117, "cx53", "CX53", "shared", "x86", "cost_optimized", 16, 32, 320, 17.49, euLocs, nil},
}

// orderable reports whether the type can be ordered in a location now.
func (s serverTypeSpec) orderable(now time.Time) bool {
	return s.deprecated == nil || now.Before(s.deprecated.UnavailableAfter)
}

type imageSpec struct {
	id                         int64
	name, desc, flavor, ver, a string
}

var imageSpecs = []imageSpec{
	{67794396, "ubuntu-22.04", "Ubuntu 22.04", "ubuntu", "22.04", "x86"},
	{103908070, "ubuntu-22.04", "Ubuntu 22.04", "ubuntu", "22.04", "arm"},
	{161547269, "ubuntu-24.04", "Ubuntu 24.04", "ubuntu", "24.04", "x86"},
	{161547270, "ubuntu-24.04", "Ubuntu 24.04", "ubuntu", "24.04", "arm"},
	{114690387, "debian-12", "Debian 12", "debian", "12", "x86"},
	{114690389, "debian-12", "Debian 12", "debian", "12", "arm"},
	{202557799, "debian-13", "Debian 13", "debian", "13", "x86"},
	{202557800, "debian-13", "Debian 13", "debian", "13", "arm"},
	{59752342, "rocky-9", "Rocky Linux 9", "rocky", "9", "x86"},
	{103909751, "rocky-9", "Rocky Linux 9", "rocky", "9", "arm"},
}

type lbTypeSpec struct {
	id                              int64
	name, desc                      string
	conns, services, targets, certs int
	monthly                         float64
}

var lbTypeSpecs = []lbTypeSpec{
	{1, "lb11", "LB11", 10000, 5, 25, 10, 5.39},
	{2, "lb21", "LB21", 20000, 15, 75, 25, 16.40},
	{3, "lb31", "LB31", 40000, 30, 150, 50, 32.90},
}

func price(monthly float64) (schema.Price, schema.Price) {
	m := fmt.Sprintf("%.4f", monthly)
	mg := fmt.Sprintf("%.4f", monthly*1.19)
	h := fmt.Sprintf("%.4f", monthly/730)
	hg := fmt.Sprintf("%.4f", monthly*1.19/730)
	return schema.Price{Net: h, Gross: hg}, schema.Price{Net: m, Gross: mg}
}

func locationByName(name string) (schema.Location, bool) {
	for _, l := range catalogLocations {
		if l.Name == name {
			return l, true
		}
	}
	return schema.Location{}, false
}

func locationByIDOrName(v schema.IDOrName) (schema.Location, bool) {
	for _, l := range catalogLocations {
		if (v.ID != 0 && l.ID == v.ID) || (v.Name != "" && l.Name == v.Name) {
			return l, true
		}
	}
	return schema.Location{}, false
}

func renderServerType(s serverTypeSpec) schema.ServerType {
	st := schema.ServerType{ID: s.id, Name: s.name, Description: s.desc, Category: s.ct, Cores: s.cores,
		Memory: s.memory, Disk: s.disk, StorageType: "local", CPUType: s.cpu, Architecture: s.arch,
		Deprecated: s.deprecated != nil, DeprecatableResource: schema.DeprecatableResource{Deprecation: s.deprecated}}
	available := s.orderable(time.Now())
	for _, ln := range s.locations {
		l, _ := locationByName(ln)
		st.Prices = append(st.Prices, priceEntry[schema.PricingServerTypePrice](ln, s.monthly))
		st.Locations = append(st.Locations, schema.ServerTypeLocation{ID: l.ID, Name: ln, Available: available,
			Recommended: available && s.deprecated == nil, DeprecatableResource: st.DeprecatableResource})
	}
	return st
}

// priceEntry is one location's price of a server or load balancer type.
func priceEntry[P schema.PricingServerTypePrice | schema.PricingLoadBalancerTypePrice](location string, monthly float64) P {
	hourly, month := price(monthly)
	tb, _ := price(1)
	return P{Location: location, PriceHourly: hourly, PriceMonthly: month, IncludedTraffic: 21990232555520, PricePerTBTraffic: tb}
}

func serverTypeByID(id int64) (serverTypeSpec, bool) {
	return findSpec(serverTypeSpecs, func(s serverTypeSpec) bool { return s.id == id })
}

func serverTypeByIDOrName(v schema.IDOrName) (serverTypeSpec, bool) {
	return findSpec(serverTypeSpecs, func(s serverTypeSpec) bool { return (v.ID != 0 && s.id == v.ID) || (v.Name != "" && s.name == v.Name) })
}

var imageCreated = time.Date(2024, 4, 25, 8, 0, 0, 0, time.UTC)

func renderImage(s imageSpec) schema.Image {
	name, ver := s.name, s.ver
	created := imageCreated
	size := float32(5)
	return schema.Image{ID: s.id, Status: "available", Type: "system", Name: &name, Description: s.desc,
		DiskSize: size, Created: &created, OSFlavor: s.flavor, OSVersion: &ver, Architecture: s.a,
		RapidDeploy: true, Labels: map[string]string{}}
}

func imageByID(id int64) (imageSpec, bool) {
	for _, s := range imageSpecs {
		if s.id == id {
			return s, true
		}
	}
	return imageSpec{}, false
}

// imageFor resolves an image by ID, or by name for the given architecture.
func imageFor(v schema.IDOrName, arch string) (imageSpec, bool) {
	for _, s := range imageSpecs {
		if v.ID != 0 && s.id == v.ID {
			return s, true
		}
		if v.Name != "" && s.name == v.Name && s.a == arch {
			return s, true
		}
	}
	return imageSpec{}, false
}

func renderLBType(s lbTypeSpec) schema.LoadBalancerType {
	t := schema.LoadBalancerType{ID: s.id, Name: s.name, Description: s.desc, MaxConnections: s.conns,
		MaxServices: s.services, MaxTargets: s.targets, MaxAssignedCertificates: s.certs}
	for _, l := range catalogLocations {
		t.Prices = append(t.Prices, priceEntry[schema.PricingLoadBalancerTypePrice](l.Name, s.monthly))
	}
	return t
}

func lbTypeByID(id int64) (lbTypeSpec, bool) {
	return findSpec(lbTypeSpecs, func(s lbTypeSpec) bool { return s.id == id })
}

func lbTypeByIDOrName(v schema.IDOrName) (lbTypeSpec, bool) {
	return findSpec(lbTypeSpecs, func(s lbTypeSpec) bool { return (v.ID != 0 && s.id == v.ID) || (v.Name != "" && s.name == v.Name) })
}

func renderDatacenter(d datacenterSpec) schema.Datacenter {
	l, _ := locationByName(d.location)
	dc := schema.Datacenter{ID: d.id, Name: d.name, Description: d.desc, Location: l}
	sup := &schema.DatacenterServerTypes{Supported: []int64{}, Available: []int64{}, AvailableForMigration: []int64{}}
	now := time.Now()
	for _, s := range serverTypeSpecs {
		if contains(s.locations, l.Name) {
			sup.Supported = append(sup.Supported, s.id)
			if s.orderable(now) {
				sup.Available = append(sup.Available, s.id)
				sup.AvailableForMigration = append(sup.AvailableForMigration, s.id)
			}
		}
	}
	dc.ServerTypes = sup
	return dc
}

func renderPricing() schema.Pricing {
	p := schema.Pricing{Currency: "EUR", VATRate: "19.00"}
	p.Image.PricePerGBMonth = schema.Price{Net: "0.0119", Gross: "0.0142"}
	p.ServerBackup.Percentage = "20.00"
	p.Volume.PricePerGBPerMonth = schema.Price{Net: "0.0440", Gross: "0.0524"}
	for _, s := range serverTypeSpecs {
		st := renderServerType(s)
		p.ServerTypes = append(p.ServerTypes, schema.PricingServerType{ID: s.id, Name: s.name, Prices: st.Prices})
	}
	for _, s := range lbTypeSpecs {
		t := renderLBType(s)
		p.LoadBalancerTypes = append(p.LoadBalancerTypes, schema.PricingLoadBalancerType{ID: s.id, Name: s.name, Prices: t.Prices})
	}
	for _, typ := range []string{"ipv4", "ipv6"} {
		pip := schema.PricingPrimaryIP{Type: typ}
		m := 0.50
		if typ == "ipv6" {
			m = 0
		}
		for _, l := range catalogLocations {
			h, mo := price(m)
			pip.Prices = append(pip.Prices, schema.PricingPrimaryIPTypePrice{Location: l.Name, PriceHourly: h, PriceMonthly: mo})
		}
		p.PrimaryIPs = append(p.PrimaryIPs, pip)
		fip := schema.PricingFloatingIPType{Type: typ}
		for _, l := range catalogLocations {
			_, mo := price(3)
			fip.Prices = append(fip.Prices, schema.PricingFloatingIPTypePrice{Location: l.Name, PriceMonthly: mo})
		}
		p.FloatingIPs = append(p.FloatingIPs, fip)
	}
	_, p.FloatingIP.PriceMonthly = price(3)
	return p
}

// findSpec returns the first catalog entry that matches.
func findSpec[T any](all []T, match func(T) bool) (T, bool) {
	for _, x := range all {
		if match(x) {
			return x, true
		}
	}
	var zero T
	return zero, false
}

type isoSpec struct {
	id               int64
	name, desc, arch string
}

// Public ISOs (a selection; private ISOs cannot be uploaded here).
var isoSpecs = []isoSpec{
	{3500, "virtio-win-0.1.248.iso", "virtio-win-0.1.248", "x86"},
	{8637, "ubuntu-24.04-live-server-amd64.iso", "Ubuntu 24.04 live server (amd64)", "x86"},
	{8638, "ubuntu-24.04-live-server-arm64.iso", "Ubuntu 24.04 live server (arm64)", "arm"},
	{9001, "debian-12.7.0-amd64-netinst.iso", "Debian 12.7 netinstall (amd64)", "x86"},
}

func renderISO(s isoSpec) schema.ISO {
	out := schema.ISO{ID: s.id, Name: s.name, Description: s.desc, Type: "public"}
	if s.arch != "" {
		a := s.arch
		out.Architecture = &a
	}
	return out
}

func isoByID(id int64) (isoSpec, bool) {
	return findSpec(isoSpecs, func(s isoSpec) bool { return s.id == id })
}

func isoByIDOrName(v schema.IDOrName) (isoSpec, bool) {
	return findSpec(isoSpecs, func(s isoSpec) bool { return (v.ID != 0 && s.id == v.ID) || (v.Name != "" && s.name == v.Name) })
}
