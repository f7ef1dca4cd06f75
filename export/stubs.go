package export

func genAndroid(m *model) error  { return nil }
func genATS(m *model) error      { return nil }
func genTrustKit(m *model) error { return nil }
func genDart(m *model) error     { return nil }
